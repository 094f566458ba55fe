namespace Serverless.Storage;

/// <summary>
/// The artifact store port: a flat namespace of blobs addressed by '/'-separated relative names.
/// Implemented by a local directory (the embedded default) and by Azure Blob Storage, and checked by
/// one conformance suite against both. Names are validated: no '..' segments, no absolute paths,
/// no empty segments, so a caller can never escape the store's root.
/// </summary>
public interface IBlobStore
{
    /// <summary>A short description for logs and errors, e.g. the root directory or the container URI.</summary>
    string Description { get; }

    /// <summary>Writes a blob from a stream without buffering it whole; replaces an existing blob
    /// unless <paramref name="options"/> asks for a conditional create. Readers see either the old
    /// content or the complete new content, never a partial blob.</summary>
    /// <returns>The new blob's properties (ETag, length).</returns>
    Task<BlobItemProperties> UploadAsync(string name, Stream content, BlobUploadOptions? options = null, CancellationToken cancellation = default);

    /// <summary>Opens a blob for reading as a stream. Throws <see cref="BlobNotFoundException"/> if absent.</summary>
    Task<Stream> OpenReadAsync(string name, CancellationToken cancellation = default);

    /// <summary>Returns a blob's properties, or null when it does not exist.</summary>
    Task<BlobItemProperties?> GetPropertiesAsync(string name, CancellationToken cancellation = default);

    /// <summary>Lists blobs whose names start with <paramref name="prefix"/> (any depth), in ordinal name order.</summary>
    IAsyncEnumerable<BlobItemProperties> ListAsync(string prefix, CancellationToken cancellation = default);

    /// <summary>Deletes a blob; returns false when it did not exist.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken cancellation = default);
}

/// <summary>Properties of a stored blob.</summary>
/// <param name="Name">The blob name relative to the store root.</param>
/// <param name="Length">Size in bytes.</param>
/// <param name="ETag">An opaque version tag that changes on every write.</param>
/// <param name="LastModified">When the blob was last written.</param>
/// <param name="Metadata">User metadata (may be empty).</param>
public sealed record BlobItemProperties(
    string Name,
    long Length,
    string ETag,
    DateTimeOffset LastModified,
    IReadOnlyDictionary<string, string> Metadata);

/// <summary>Options of <see cref="IBlobStore.UploadAsync"/>.</summary>
public sealed class BlobUploadOptions
{
    /// <summary>When true the upload fails with <see cref="BlobConditionFailedException"/> if the blob
    /// already exists (If-None-Match: *). Default false.</summary>
    public bool IfNotExists { get; init; }

    /// <summary>When set, the upload succeeds only if the current blob has this ETag (If-Match).</summary>
    public string? IfMatch { get; init; }

    /// <summary>User metadata stored with the blob.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>Thrown when a blob that must exist does not.</summary>
public sealed class BlobNotFoundException(string name, string store)
    : Exception($"Blob '{name}' was not found in {store}.")
{
    /// <summary>The missing blob's name.</summary>
    public string BlobName { get; } = name;
}

/// <summary>Thrown when a conditional write's precondition (If-None-Match / If-Match) fails.</summary>
public sealed class BlobConditionFailedException(string name, string condition)
    : Exception($"Blob '{name}': condition {condition} failed.")
{
    /// <summary>The blob's name.</summary>
    public string BlobName { get; } = name;
}

using Azure;

namespace Serverless.Storage.Blobs.Models;

/// <summary>Result of creating a container.</summary>
public sealed class BlobContainerInfo
{
    /// <summary>The container's ETag.</summary>
    public ETag ETag { get; init; }

    /// <summary>When the container was last modified.</summary>
    public DateTimeOffset LastModified { get; init; }
}

/// <summary>Properties of a container.</summary>
public sealed class BlobContainerProperties
{
    /// <summary>The container's ETag.</summary>
    public ETag ETag { get; init; }

    /// <summary>When the container was last modified.</summary>
    public DateTimeOffset LastModified { get; init; }

    /// <summary>User metadata.</summary>
    public IDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Lease state of the container.</summary>
    public LeaseState? LeaseState { get; init; }
}

/// <summary>Result of uploading a blob (Put Blob or Put Block List).</summary>
public sealed class BlobContentInfo
{
    /// <summary>The new ETag.</summary>
    public ETag ETag { get; init; }

    /// <summary>When the blob was written.</summary>
    public DateTimeOffset LastModified { get; init; }
}

/// <summary>Result of an operation that changes a blob's metadata or properties.</summary>
public sealed class BlobInfo
{
    /// <summary>The new ETag.</summary>
    public ETag ETag { get; init; }

    /// <summary>When the blob was changed.</summary>
    public DateTimeOffset LastModified { get; init; }
}

/// <summary>Properties of a blob (Get Blob Properties).</summary>
public sealed class BlobProperties
{
    /// <summary>When the blob was last modified.</summary>
    public DateTimeOffset LastModified { get; init; }

    /// <summary>When the blob was created.</summary>
    public DateTimeOffset CreatedOn { get; init; }

    /// <summary>User metadata (names are case-insensitive on the service).</summary>
    public IDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Block, page or append blob.</summary>
    public BlobType BlobType { get; init; }

    /// <summary>Size in bytes.</summary>
    public long ContentLength { get; init; }

    /// <summary>The blob's content type.</summary>
    public string? ContentType { get; init; }

    /// <summary>MD5 of the content when the service knows it (single-shot uploads), else null.</summary>
    public byte[]? ContentHash { get; init; }

    /// <summary>The ETag.</summary>
    public ETag ETag { get; init; }

    /// <summary>Lease state.</summary>
    public LeaseState LeaseState { get; init; }

    /// <summary>Lease status (locked or unlocked).</summary>
    public LeaseStatus LeaseStatus { get; init; }

    /// <summary>Lease duration type when leased.</summary>
    public LeaseDurationType? LeaseDuration { get; init; }
}

/// <summary>A blob in a listing.</summary>
public sealed class BlobItem
{
    /// <summary>The blob name (decoded).</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>Listed properties.</summary>
    public BlobItemProperties Properties { get; init; } = new();

    /// <summary>Metadata, filled when <see cref="BlobTraits.Metadata"/> was requested.</summary>
    public IDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

/// <summary>Properties of a blob in a listing.</summary>
public sealed class BlobItemProperties
{
    /// <summary>When the blob was last modified.</summary>
    public DateTimeOffset? LastModified { get; init; }

    /// <summary>Size in bytes.</summary>
    public long? ContentLength { get; init; }

    /// <summary>The content type.</summary>
    public string? ContentType { get; init; }

    /// <summary>The ETag, normalised to the quoted form the service uses in headers.</summary>
    public ETag? ETag { get; init; }

    /// <summary>Block, page or append blob.</summary>
    public BlobType? BlobType { get; init; }

    /// <summary>Lease state.</summary>
    public LeaseState? LeaseState { get; init; }
}

/// <summary>What a listing includes besides names and properties.</summary>
[Flags]
public enum BlobTraits
{
    /// <summary>Names and properties only.</summary>
    None = 0,

    /// <summary>Include user metadata.</summary>
    Metadata = 1,
}

/// <summary>Which blob states a listing includes.</summary>
[Flags]
public enum BlobStates
{
    /// <summary>Committed, current blobs only.</summary>
    None = 0,

    /// <summary>Also blobs with only uncommitted blocks.</summary>
    Uncommitted = 1,
}

/// <summary>Blob type.</summary>
public enum BlobType
{
    /// <summary>Block blob (what this client writes).</summary>
    Block,

    /// <summary>Page blob.</summary>
    Page,

    /// <summary>Append blob.</summary>
    Append,
}

/// <summary>Lease state of a blob or container.</summary>
public enum LeaseState
{
    /// <summary>Not leased.</summary>
    Available,

    /// <summary>Leased.</summary>
    Leased,

    /// <summary>Lease expired.</summary>
    Expired,

    /// <summary>Lease is being broken.</summary>
    Breaking,

    /// <summary>Lease broken.</summary>
    Broken,
}

/// <summary>Lease status.</summary>
public enum LeaseStatus
{
    /// <summary>Leased.</summary>
    Locked,

    /// <summary>Not leased.</summary>
    Unlocked,
}

/// <summary>Lease duration type.</summary>
public enum LeaseDurationType
{
    /// <summary>Never expires.</summary>
    Infinite,

    /// <summary>15-60 seconds.</summary>
    Fixed,
}

/// <summary>Whether deleting a blob also deletes its snapshots.</summary>
public enum DeleteSnapshotsOption
{
    /// <summary>Fails if snapshots exist.</summary>
    None,

    /// <summary>Deletes the blob and its snapshots.</summary>
    IncludeSnapshots,

    /// <summary>Deletes only the snapshots.</summary>
    OnlySnapshots,
}

/// <summary>A lease (Lease Blob / Lease Container).</summary>
public sealed class BlobLease
{
    /// <summary>ETag of the leased resource.</summary>
    public ETag ETag { get; init; }

    /// <summary>Last modification time of the leased resource.</summary>
    public DateTimeOffset LastModified { get; init; }

    /// <summary>The lease id (null after Break).</summary>
    public string? LeaseId { get; init; }

    /// <summary>After Break: seconds until the lease is broken.</summary>
    public int? LeaseTime { get; init; }
}

/// <summary>Result of releasing a lease.</summary>
public sealed class ReleasedObjectInfo
{
    /// <summary>ETag of the resource.</summary>
    public ETag ETag { get; init; }

    /// <summary>Last modification time of the resource.</summary>
    public DateTimeOffset LastModified { get; init; }
}

/// <summary>Standard HTTP properties stored with a blob.</summary>
public sealed class BlobHttpHeaders
{
    /// <summary>Content-Type returned on download (service default application/octet-stream).</summary>
    public string? ContentType { get; set; }

    /// <summary>Content-Encoding returned on download.</summary>
    public string? ContentEncoding { get; set; }
}

/// <summary>Preconditions of a blob request; sent as If-Match, If-None-Match, If-(Un)Modified-Since and x-ms-lease-id.</summary>
public class BlobRequestConditions
{
    /// <summary>Succeed only if the ETag matches (use <see cref="ETag.All"/> for "exists").</summary>
    public ETag? IfMatch { get; set; }

    /// <summary>Succeed only if the ETag differs (<see cref="ETag.All"/>: only if the blob does not exist).</summary>
    public ETag? IfNoneMatch { get; set; }

    /// <summary>Succeed only if modified since.</summary>
    public DateTimeOffset? IfModifiedSince { get; set; }

    /// <summary>Succeed only if not modified since.</summary>
    public DateTimeOffset? IfUnmodifiedSince { get; set; }

    /// <summary>The active lease id, required to write a leased blob.</summary>
    public string? LeaseId { get; set; }
}

/// <summary>Sizes and parallelism of a chunked upload.</summary>
public struct StorageTransferOptions : IEquatable<StorageTransferOptions>
{
    /// <summary>Largest upload sent as a single Put Blob (default 8 MiB, never more than <see cref="MaximumTransferSize"/>).</summary>
    public int? InitialTransferSize { get; set; }

    /// <summary>Block size for Put Block (default 8 MiB).</summary>
    public int? MaximumTransferSize { get; set; }

    /// <summary>Blocks in flight at once (default 4). Memory use is about (concurrency + 1) x block size.</summary>
    public int? MaximumConcurrency { get; set; }

    /// <inheritdoc />
    public readonly bool Equals(StorageTransferOptions other) =>
        InitialTransferSize == other.InitialTransferSize && MaximumTransferSize == other.MaximumTransferSize && MaximumConcurrency == other.MaximumConcurrency;

    /// <inheritdoc />
    public override readonly bool Equals(object? obj) => obj is StorageTransferOptions o && Equals(o);

    /// <inheritdoc />
    public override readonly int GetHashCode() => HashCode.Combine(InitialTransferSize, MaximumTransferSize, MaximumConcurrency);

    /// <summary>Equality.</summary>
    public static bool operator ==(StorageTransferOptions left, StorageTransferOptions right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(StorageTransferOptions left, StorageTransferOptions right) => !left.Equals(right);
}

/// <summary>Options of <c>BlobClient.UploadAsync</c>.</summary>
public sealed class BlobUploadOptions
{
    /// <summary>Content type and encoding.</summary>
    public BlobHttpHeaders? HttpHeaders { get; set; }

    /// <summary>User metadata (names must be C# identifiers; values ASCII).</summary>
    public IDictionary<string, string>? Metadata { get; set; }

    /// <summary>Preconditions checked when the blob is committed.</summary>
    public BlobRequestConditions? Conditions { get; set; }

    /// <summary>Chunking.</summary>
    public StorageTransferOptions TransferOptions { get; set; }
}

/// <summary>Options of <c>BlobClient.DownloadStreamingAsync</c>.</summary>
public sealed class BlobDownloadOptions
{
    /// <summary>Byte range to download; default the whole blob.</summary>
    public HttpRange Range { get; set; }

    /// <summary>Preconditions.</summary>
    public BlobRequestConditions? Conditions { get; set; }
}

/// <summary>Properties returned with a download.</summary>
public sealed class BlobDownloadDetails
{
    /// <summary>Bytes in this response (the range, or the whole blob).</summary>
    public long ContentLength { get; init; }

    /// <summary>The ETag of the blob that is being read.</summary>
    public ETag ETag { get; init; }

    /// <summary>When the blob was last modified.</summary>
    public DateTimeOffset LastModified { get; init; }

    /// <summary>The content type.</summary>
    public string? ContentType { get; init; }

    /// <summary>User metadata.</summary>
    public IDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Block, page or append blob.</summary>
    public BlobType BlobType { get; init; }
}

/// <summary>A download whose content is a stream read from the network as it is consumed (never buffered whole).
/// Dispose it (or its Content) to release the connection.</summary>
public sealed class BlobDownloadStreamingResult : IDisposable
{
    /// <summary>The content stream.</summary>
    public Stream Content { get; init; } = Stream.Null;

    /// <summary>Properties.</summary>
    public BlobDownloadDetails Details { get; init; } = new();

    /// <inheritdoc />
    public void Dispose() => Content.Dispose();
}

/// <summary>A download buffered in memory, for small blobs.</summary>
public sealed class BlobDownloadResult
{
    /// <summary>The content.</summary>
    public BinaryData Content { get; init; } = BinaryData.Empty;

    /// <summary>Properties.</summary>
    public BlobDownloadDetails Details { get; init; } = new();
}

using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Serverless.Storage;

namespace Serverless.Pipelines.Tests;

/// <summary>
/// Test double of the <see cref="IBlobStore"/> port: blobs in a dictionary. <see cref="FailUploadWhen"/> injects
/// a fault (a crash mid-publish) that cannot be caused for real.
/// </summary>
internal sealed class InMemoryBlobStoreTestDouble : IBlobStore
{
    private readonly ConcurrentDictionary<string, (byte[] Data, BlobItemProperties Properties)> blobs = new(StringComparer.Ordinal);
    private long version;

    public string Description => "in-memory test double";

    /// <summary>When it returns true for a name, the upload throws <see cref="IOException"/> instead of storing.</summary>
    public Func<string, bool>? FailUploadWhen { get; set; }

    public IReadOnlyList<string> Names => blobs.Keys.Order(StringComparer.Ordinal).ToList();

    public int UploadCount;

    public async Task<BlobItemProperties> UploadAsync(string name, Stream content, BlobUploadOptions? options = null, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        if (FailUploadWhen?.Invoke(name) == true)
        {
            throw new IOException($"Injected failure writing '{name}'.");
        }

        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellation);
        if (options?.IfNotExists == true && blobs.ContainsKey(name))
        {
            throw new BlobConditionFailedException(name, "If-None-Match: *");
        }

        Interlocked.Increment(ref UploadCount);
        var properties = new BlobItemProperties(name, buffer.Length, $"\"{Interlocked.Increment(ref version)}\"", DateTimeOffset.UtcNow,
            options?.Metadata ?? new Dictionary<string, string>());
        blobs[name] = (buffer.ToArray(), properties);
        return properties;
    }

    public Task<Stream> OpenReadAsync(string name, CancellationToken cancellation = default) =>
        blobs.TryGetValue(name, out var blob)
            ? Task.FromResult<Stream>(new MemoryStream(blob.Data, writable: false))
            : throw new BlobNotFoundException(name, Description);

    public Task<BlobItemProperties?> GetPropertiesAsync(string name, CancellationToken cancellation = default) =>
        Task.FromResult(blobs.TryGetValue(name, out var blob) ? blob.Properties : null);

    public async IAsyncEnumerable<BlobItemProperties> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        await Task.Yield();
        foreach (var name in blobs.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            if (blobs.TryGetValue(name, out var blob))
            {
                yield return blob.Properties;
            }
        }
    }

    public Task<bool> DeleteAsync(string name, CancellationToken cancellation = default) => Task.FromResult(blobs.TryRemove(name, out _));

    public string ReadText(string name) => System.Text.Encoding.UTF8.GetString(blobs[name].Data);
}

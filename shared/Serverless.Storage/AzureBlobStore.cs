using System.Runtime.CompilerServices;
using Azure;
using Serverless.Storage.Blobs;
using Models = Serverless.Storage.Blobs.Models;

namespace Serverless.Storage;

/// <summary>Options of <see cref="AzureBlobStore"/>.</summary>
public sealed class AzureBlobStoreOptions
{
    /// <summary>Blobs per List Blobs call (maxresults); null = the service default (5000). Small values exist for tests.</summary>
    public int? ListPageSize { get; init; }

    /// <summary>Chunking of uploads: single Put Blob up to <c>InitialTransferSize</c>, then blocks of
    /// <c>MaximumTransferSize</c> (default 8 MiB), <c>MaximumConcurrency</c> (default 4) at once.</summary>
    public Models.StorageTransferOptions TransferOptions { get; init; }
}

/// <summary>
/// <see cref="IBlobStore"/> on an Azure Blob Storage container (Azurite locally), through our REST client.
/// The container is created on first use. Publishing is atomic on the service's side: a blob becomes
/// visible only when Put Blob or Put Block List commits. ETags are the service's (without quotes).
/// Listing order is the service's (UTF-8 byte order, equal to ordinal order except for characters outside the BMP).
/// </summary>
public sealed class AzureBlobStore : IBlobStore
{
    private readonly BlobContainerClient _container;
    private readonly AzureBlobStoreOptions _options;
    private readonly SemaphoreSlim _createGate = new(1, 1);
    private volatile bool _containerReady;

    /// <summary>Uses <paramref name="container"/> (created on first use).</summary>
    public AzureBlobStore(BlobContainerClient container, AzureBlobStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(container);
        _container = container;
        _options = options ?? new AzureBlobStoreOptions();
    }

    /// <summary>From a connection string and container name.</summary>
    public AzureBlobStore(string connectionString, string containerName, AzureBlobStoreOptions? options = null)
        : this(new BlobContainerClient(connectionString, containerName), options)
    {
    }

    /// <summary>The container client (for operations the port does not cover).</summary>
    public BlobContainerClient Container => _container;

    /// <inheritdoc />
    public string Description => $"Azure blob container {_container.Uri.AbsoluteUri}";

    /// <inheritdoc />
    public async Task<BlobItemProperties> UploadAsync(string name, Stream content, BlobUploadOptions? options = null, CancellationToken cancellation = default)
    {
        BlobNames.Validate(name);
        ArgumentNullException.ThrowIfNull(content);
        await EnsureContainerAsync(cancellation);
        var counting = new CountingStream(content);
        var metadata = options?.Metadata == null ? new Dictionary<string, string>() : new Dictionary<string, string>(options.Metadata);
        var upload = new Models.BlobUploadOptions
        {
            Metadata = metadata,
            TransferOptions = _options.TransferOptions,
            Conditions = new Models.BlobRequestConditions
            {
                IfNoneMatch = options?.IfNotExists == true ? ETag.All : null,
                IfMatch = options?.IfMatch is { } m ? new ETag(m.Trim('"')) : null,
            },
        };
        try
        {
            var result = await _container.GetBlobClient(name).UploadAsync(counting, upload, cancellation);
            return new BlobItemProperties(name, counting.Count, result.Value.ETag.ToString(), result.Value.LastModified, metadata);
        }
        catch (RequestFailedException e) when (e.Status == 409 && e.ErrorCode == "BlobAlreadyExists")
        {
            throw new BlobConditionFailedException(name, "If-None-Match: * (the blob exists)");
        }
        catch (RequestFailedException e) when (e.Status == 412 || (e.Status == 404 && e.ErrorCode == "BlobNotFound" && options?.IfMatch != null))
        {
            throw new BlobConditionFailedException(name, $"If-Match: {options?.IfMatch}");
        }
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string name, CancellationToken cancellation = default)
    {
        BlobNames.Validate(name);
        try
        {
            var download = await _container.GetBlobClient(name).DownloadStreamingAsync(cancellation: cancellation);
            return download.Value.Content;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new BlobNotFoundException(name, Description);
        }
    }

    /// <inheritdoc />
    public async Task<BlobItemProperties?> GetPropertiesAsync(string name, CancellationToken cancellation = default)
    {
        BlobNames.Validate(name);
        try
        {
            var p = (await _container.GetBlobClient(name).GetPropertiesAsync(cancellation: cancellation)).Value;
            return new BlobItemProperties(name, p.ContentLength, p.ETag.ToString(), p.LastModified, new Dictionary<string, string>(p.Metadata));
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<BlobItemProperties> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        BlobNames.ValidatePrefix(prefix);
        if (!_containerReady && !(await _container.ExistsAsync(cancellation)).Value) yield break;
        var pages = _container.GetBlobsAsync(Models.BlobTraits.Metadata, Models.BlobStates.None, prefix, cancellation).AsPages(null, _options.ListPageSize);
        await foreach (var page in pages.WithCancellation(cancellation))
        {
            foreach (var item in page.Values)
            {
                yield return new BlobItemProperties(item.Name, item.Properties.ContentLength ?? 0, item.Properties.ETag?.ToString() ?? string.Empty,
                    item.Properties.LastModified ?? default, new Dictionary<string, string>(item.Metadata));
            }
        }
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellation = default)
    {
        BlobNames.Validate(name);
        try
        {
            return (await _container.GetBlobClient(name).DeleteIfExistsAsync(cancellation: cancellation)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == "ContainerNotFound")
        {
            return false;
        }
    }

    private async Task EnsureContainerAsync(CancellationToken cancellation)
    {
        if (_containerReady) return;
        await _createGate.WaitAsync(cancellation);
        try
        {
            if (!_containerReady)
            {
                await _container.CreateIfNotExistsAsync(cancellation: cancellation);
                _containerReady = true;
            }
        }
        finally
        {
            _createGate.Release();
        }
    }

    /// <summary>Counts bytes read, to report the uploaded length without buffering.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Count { get; private set; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => Count;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            Count += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            Count += n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

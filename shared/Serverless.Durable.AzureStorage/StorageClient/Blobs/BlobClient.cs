using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Azure;
using Azure.Core;
using Serverless.Storage.Sas;

namespace Serverless.Storage.Blobs;

// Inside the namespace so the SDK-named models win over the IBlobStore port types of the same name.
using Serverless.Storage.Blobs.Models;

/// <summary>
/// A block blob (named after Azure.Storage.Blobs' BlobClient). Uploads never buffer a stream whole: up to
/// <see cref="StorageTransferOptions.InitialTransferSize"/> goes in one Put Blob, anything longer in blocks
/// (Put Block, a few in parallel, then Put Block List, which publishes the blob atomically). Downloads are
/// streamed from the socket and resume with a ranged, If-Match request if the connection breaks.
/// </summary>
public sealed class BlobClient
{
    private const int DefaultBlockSize = 8 * 1024 * 1024;
    private const int DefaultConcurrency = 4;
    private readonly StorageContext _context;

    /// <summary>From a connection string, container and blob name.</summary>
    public BlobClient(string connectionString, string blobContainerName, string blobName, BlobClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        ArgumentException.ThrowIfNullOrEmpty(blobContainerName);
        ArgumentException.ThrowIfNullOrEmpty(blobName);
        var cs = StorageConnectionString.Parse(connectionString);
        options ??= new BlobClientOptions();
        var (context, service) = StorageContext.Create(cs, cs.GetRequiredBlobEndpoint(), options, options.ApiVersion);
        _context = context;
        Uri = StorageContext.AppendPath(StorageContext.AppendPath(service, blobContainerName, keepSlashes: false), blobName, keepSlashes: true);
        BlobContainerName = blobContainerName;
        Name = blobName;
    }

    /// <summary>From a blob URI, anonymous or with a SAS in its query. The URI must be path-encoded.</summary>
    public BlobClient(Uri blobUri, BlobClientOptions? options = null) : this(blobUri, (object?)null, options) { }

    /// <summary>With an account key.</summary>
    public BlobClient(Uri blobUri, StorageSharedKeyCredential credential, BlobClientOptions? options = null) : this(blobUri, (object)credential, options) { }

    /// <summary>With a SAS credential.</summary>
    public BlobClient(Uri blobUri, AzureSasCredential credential, BlobClientOptions? options = null) : this(blobUri, (object)credential, options) { }

    /// <summary>With an Entra ID token credential; needs https.</summary>
    public BlobClient(Uri blobUri, TokenCredential credential, BlobClientOptions? options = null) : this(blobUri, (object)credential, options) { }

    private BlobClient(Uri uri, object? credential, BlobClientOptions? options)
    {
        ArgumentNullException.ThrowIfNull(uri);
        options ??= new BlobClientOptions();
        (_context, Uri) = StorageContext.Create(uri, credential, options, options.ApiVersion);
        // path-style (IP or localhost host) URIs carry the account as the first segment
        var segments = Uri.AbsolutePath.Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        var skip = segments.Length > 2 && segments[0] == _context.AccountName && !Uri.Host.StartsWith(_context.AccountName + ".", StringComparison.Ordinal) ? 1 : 0;
        if (segments.Length < skip + 2) throw new ArgumentException($"The blob URI {Uri.AbsoluteUri} has no container and blob name.", nameof(uri));
        BlobContainerName = segments[skip];
        Name = string.Join('/', segments.Skip(skip + 1));
    }

    internal BlobClient(StorageContext context, Uri uri, string containerName, string blobName)
    {
        _context = context;
        Uri = uri;
        BlobContainerName = containerName;
        Name = blobName;
    }

    /// <summary>The blob URI (path-encoded, without SAS).</summary>
    public Uri Uri { get; }

    /// <summary>The blob name.</summary>
    public string Name { get; }

    /// <summary>The container name.</summary>
    public string BlobContainerName { get; }

    /// <summary>The account name.</summary>
    public string AccountName => _context.AccountName;

    internal StorageContext Context => _context;

    /// <summary>Uploads; fails with 409 BlobAlreadyExists if the blob exists and <paramref name="overwrite"/> is false.</summary>
    public Task<Response<BlobContentInfo>> UploadAsync(Stream content, bool overwrite = false, CancellationToken cancellation = default) =>
        UploadAsync(content, new BlobUploadOptions { Conditions = overwrite ? null : new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellation);

    /// <summary>Uploads in-memory data; see <see cref="UploadAsync(Stream, bool, CancellationToken)"/>.</summary>
    public Task<Response<BlobContentInfo>> UploadAsync(BinaryData content, bool overwrite = false, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        return UploadAsync(content.ToStream(), overwrite, cancellation);
    }

    /// <summary>Uploads in-memory data with options.</summary>
    public Task<Response<BlobContentInfo>> UploadAsync(BinaryData content, BlobUploadOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        return UploadAsync(content.ToStream(), options, cancellation);
    }

    /// <summary>Uploads a stream of any length without buffering it whole (memory about (concurrency + 1) x block size).
    /// Conditions are checked when the blob is published (Put Blob, or Put Block List for chunked uploads).</summary>
    public async Task<Response<BlobContentInfo>> UploadAsync(Stream content, BlobUploadOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(options);
        var blockSize = options.TransferOptions.MaximumTransferSize ?? DefaultBlockSize;
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blockSize, 2000 * 1024 * 1024);
        var singleShot = Math.Min(options.TransferOptions.InitialTransferSize ?? DefaultBlockSize, blockSize);
        var concurrency = Math.Max(1, options.TransferOptions.MaximumConcurrency ?? DefaultConcurrency);

        // Small seekable content: one exact-size buffer. Otherwise peek 64 KiB so tiny streams stay cheap.
        if (content.CanSeek && content.Length - content.Position is var remaining && remaining < singleShot)
        {
            var exact = GC.AllocateUninitializedArray<byte>((int)remaining);
            var read = await ReadFullAsync(content, exact, cancellation);
            return await PutBlobAsync(exact.AsMemory(0, read), options, cancellation);
        }
        var peek = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var peeked = await ReadFullAsync(content, peek.AsMemory(0, Math.Min(64 * 1024, singleShot)), cancellation);
            if (peeked < Math.Min(64 * 1024, singleShot))
                return await PutBlobAsync(peek.AsMemory(0, peeked), options, cancellation);

            // Blocks come from a pool private to this upload (at most concurrency + 1 buffers) and are garbage once
            // it ends; ArrayPool.Shared would keep dozens of 8 MiB arrays alive per core afterwards.
            var pool = new BlockPool(blockSize);
            var first = pool.Rent();
            peek.AsSpan(0, peeked).CopyTo(first);
            var n = peeked + await ReadFullAsync(content, first.AsMemory(peeked, singleShot - peeked), cancellation);
            if (n < singleShot)
                return await PutBlobAsync(first.AsMemory(0, n), options, cancellation);
            n += await ReadFullAsync(content, first.AsMemory(n, blockSize - n), cancellation);
            return await UploadInBlocksAsync(content, pool, first, n, blockSize, concurrency, options, cancellation);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(peek);
        }
    }

    /// <summary>Block buffers of one upload.</summary>
    private sealed class BlockPool(int blockSize)
    {
        private readonly Stack<byte[]> _free = new();

        public byte[] Rent()
        {
            lock (_free) return _free.Count > 0 ? _free.Pop() : GC.AllocateUninitializedArray<byte>(blockSize);
        }

        public void Return(byte[] buffer)
        {
            lock (_free) _free.Push(buffer);
        }
    }

    private async Task<Response<BlobContentInfo>> PutBlobAsync(ReadOnlyMemory<byte> data, BlobUploadOptions options, CancellationToken cancellation)
    {
        using var message = _context.CreateMessage(RequestMethod.Put, Uri);
        var request = message.Request;
        request.Headers.SetValue("x-ms-blob-type", "BlockBlob");
        ApplyHttpHeaders(request, options.HttpHeaders);
        BlobProtocol.ApplyMetadata(request, options.Metadata);
        BlobProtocol.ApplyConditions(request, options.Conditions);
        request.Content = RequestContent.Create(data);
        var response = await _context.SendAsync(message, cancellation, 201);
        return Response.FromValue(new BlobContentInfo { ETag = BlobProtocol.ReadETag(response), LastModified = BlobProtocol.ReadDate(response, "Last-Modified") }, response);
    }

    private async Task<Response<BlobContentInfo>> UploadInBlocksAsync(
        Stream content, BlockPool pool, byte[] firstBuffer, int firstLength, int blockSize, int concurrency, BlobUploadOptions options, CancellationToken cancellation)
    {
        // Block ids are unique per upload (random prefix), so two uploads racing on one blob cannot mix blocks.
        var prefix = Guid.NewGuid().ToByteArray();
        var ids = new List<string>();
        var inFlight = new List<Task>();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        byte[]? buffer = firstBuffer;
        var length = firstLength;
        try
        {
            while (true)
            {
                var id = BlockId(prefix, ids.Count);
                ids.Add(id);
                var owned = buffer;
                var ownedLength = length;
                buffer = null;
                inFlight.Add(StageAndReturnAsync(id, pool, owned, ownedLength, failed.Token));
                if (inFlight.Count >= concurrency)
                {
                    var done = await Task.WhenAny(inFlight);
                    inFlight.Remove(done);
                    await done;
                }
                if (ownedLength < blockSize) break;
                buffer = pool.Rent();
                length = await ReadFullAsync(content, buffer.AsMemory(0, blockSize), failed.Token);
                if (length == 0) break;
            }
            await Task.WhenAll(inFlight);
        }
        catch
        {
            await failed.CancelAsync();
            try
            {
                await Task.WhenAll(inFlight);
            }
            catch (Exception)
            {
                // the first failure is rethrown below; uncommitted blocks expire on the service
            }
            throw;
        }
        finally
        {
            if (buffer != null) pool.Return(buffer);
        }
        return await CommitBlockListAsync(ids, options, cancellation);
    }

    private async Task StageAndReturnAsync(string blockId, BlockPool pool, byte[] buffer, int length, CancellationToken cancellation)
    {
        try
        {
            using var message = _context.CreateMessage(RequestMethod.Put, Uri, ("comp", "block"), ("blockid", blockId));
            message.Request.Content = RequestContent.Create(buffer.AsMemory(0, length));
            await _context.SendAsync(message, cancellation, 201);
        }
        finally
        {
            pool.Return(buffer);
        }
    }

    private async Task<Response<BlobContentInfo>> CommitBlockListAsync(List<string> ids, BlobUploadOptions options, CancellationToken cancellation)
    {
        var xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        foreach (var id in ids) xml.Append("<Latest>").Append(id).Append("</Latest>");
        xml.Append("</BlockList>");
        using var message = _context.CreateMessage(RequestMethod.Put, Uri, ("comp", "blocklist"));
        var request = message.Request;
        ApplyHttpHeaders(request, options.HttpHeaders);
        BlobProtocol.ApplyMetadata(request, options.Metadata);
        BlobProtocol.ApplyConditions(request, options.Conditions);
        request.Headers.SetValue("Content-Type", "application/xml");
        request.Content = RequestContent.Create(Encoding.UTF8.GetBytes(xml.ToString()));
        var response = await _context.SendAsync(message, cancellation, 201);
        return Response.FromValue(new BlobContentInfo { ETag = BlobProtocol.ReadETag(response), LastModified = BlobProtocol.ReadDate(response, "Last-Modified") }, response);
    }

    private static string BlockId(byte[] prefix, int index)
    {
        Span<byte> raw = stackalloc byte[20];
        prefix.CopyTo(raw);
        BinaryPrimitives.WriteInt32BigEndian(raw[16..], index);
        return Convert.ToBase64String(raw);
    }

    private static void ApplyHttpHeaders(Request request, BlobHttpHeaders? headers)
    {
        if (headers?.ContentType is { } type) request.Headers.SetValue("x-ms-blob-content-type", type);
        if (headers?.ContentEncoding is { } encoding) request.Headers.SetValue("x-ms-blob-content-encoding", encoding);
    }

    private static async Task<int> ReadFullAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellation)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer[total..], cancellation);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>Downloads as a stream read from the network as it is consumed; dispose the result to free the connection.
    /// A broken connection is resumed from the current offset with If-Match on the blob's ETag (up to 3 times).</summary>
    public async Task<Response<BlobDownloadStreamingResult>> DownloadStreamingAsync(BlobDownloadOptions? options = null, CancellationToken cancellation = default)
    {
        var range = options?.Range ?? default;
        var (response, stream) = await GetAsync(range.Offset, range.Length, options?.Conditions, cancellation);
        var details = ReadDownloadDetails(response);
        var conditions = new BlobRequestConditions { IfMatch = details.ETag, LeaseId = options?.Conditions?.LeaseId };
        var resumable = new RetriableDownloadStream(stream, range.Offset, details.ContentLength, async (offset, remaining, ct) =>
            (await GetAsync(offset, remaining, conditions, ct)).Stream);
        return Response.FromValue(new BlobDownloadStreamingResult { Content = resumable, Details = details }, response);
    }

    /// <summary>Downloads into memory (for small blobs).</summary>
    public Task<Response<BlobDownloadResult>> DownloadContentAsync(CancellationToken cancellation = default) => DownloadContentAsync(null, cancellation);

    /// <summary>Downloads into memory with options (for small blobs).</summary>
    public async Task<Response<BlobDownloadResult>> DownloadContentAsync(BlobDownloadOptions? options, CancellationToken cancellation = default)
    {
        var streaming = await DownloadStreamingAsync(options, cancellation);
        using var result = streaming.Value;
        var data = await BinaryData.FromStreamAsync(result.Content, cancellation);
        return Response.FromValue(new BlobDownloadResult { Content = data, Details = result.Details }, streaming.GetRawResponse());
    }

    private async Task<(Response Response, Stream Stream)> GetAsync(long offset, long? length, BlobRequestConditions? conditions, CancellationToken cancellation)
    {
        var message = _context.CreateMessage(RequestMethod.Get, Uri);
        try
        {
            message.BufferResponse = false;
            if (offset != 0 || length != null)
            {
                var end = length is { } l ? (offset + l - 1).ToString(CultureInfo.InvariantCulture) : string.Empty;
                message.Request.Headers.SetValue("x-ms-range", $"bytes={offset.ToString(CultureInfo.InvariantCulture)}-{end}");
            }
            BlobProtocol.ApplyConditions(message.Request, conditions);
            var response = await _context.SendAsync(message, cancellation, 200, 206);
            var stream = message.ExtractResponseContent() ?? Stream.Null;
            return (response, stream);
        }
        finally
        {
            message.Dispose();
        }
    }

    private static BlobDownloadDetails ReadDownloadDetails(Response response) => new()
    {
        ContentLength = response.Headers.ContentLengthLong ?? 0,
        ETag = BlobProtocol.ReadETag(response),
        LastModified = BlobProtocol.ReadDate(response, "Last-Modified"),
        ContentType = response.Headers.ContentType,
        Metadata = BlobProtocol.ReadMetadata(response),
        BlobType = BlobProtocol.ParseBlobType(BlobProtocol.Header(response, "x-ms-blob-type")),
    };

    /// <summary>Properties and metadata; throws 404 BlobNotFound when absent.</summary>
    public async Task<Response<BlobProperties>> GetPropertiesAsync(BlobRequestConditions? conditions = null, CancellationToken cancellation = default)
    {
        using var message = _context.CreateMessage(RequestMethod.Head, Uri);
        BlobProtocol.ApplyConditions(message.Request, conditions);
        var response = await _context.SendAsync(message, cancellation, 200);
        var md5 = BlobProtocol.Header(response, "Content-MD5");
        var leaseDuration = BlobProtocol.Header(response, "x-ms-lease-duration");
        return Response.FromValue(new BlobProperties
        {
            LastModified = BlobProtocol.ReadDate(response, "Last-Modified"),
            CreatedOn = BlobProtocol.ReadDate(response, "x-ms-creation-time"),
            Metadata = BlobProtocol.ReadMetadata(response),
            BlobType = BlobProtocol.ParseBlobType(BlobProtocol.Header(response, "x-ms-blob-type")),
            ContentLength = response.Headers.ContentLengthLong ?? 0,
            ContentType = response.Headers.ContentType,
            ContentHash = md5 == null ? null : Convert.FromBase64String(md5),
            ETag = BlobProtocol.ReadETag(response),
            LeaseState = BlobProtocol.ParseLeaseState(BlobProtocol.Header(response, "x-ms-lease-state")),
            LeaseStatus = BlobProtocol.Header(response, "x-ms-lease-status") == "locked" ? LeaseStatus.Locked : LeaseStatus.Unlocked,
            LeaseDuration = leaseDuration switch { "infinite" => LeaseDurationType.Infinite, "fixed" => LeaseDurationType.Fixed, _ => null },
        }, response);
    }

    /// <summary>Whether the blob exists.</summary>
    public async Task<Response<bool>> ExistsAsync(CancellationToken cancellation = default)
    {
        using var message = _context.CreateMessage(RequestMethod.Head, Uri);
        var response = await _context.SendAsync(message, cancellation, 200, 404);
        return Response.FromValue(response.Status == 200, response);
    }

    /// <summary>Replaces all user metadata (changes the ETag).</summary>
    public async Task<Response<BlobInfo>> SetMetadataAsync(IDictionary<string, string> metadata, BlobRequestConditions? conditions = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        using var message = _context.CreateMessage(RequestMethod.Put, Uri, ("comp", "metadata"));
        BlobProtocol.ApplyMetadata(message.Request, metadata);
        BlobProtocol.ApplyConditions(message.Request, conditions);
        var response = await _context.SendAsync(message, cancellation, 200);
        return Response.FromValue(new BlobInfo { ETag = BlobProtocol.ReadETag(response), LastModified = BlobProtocol.ReadDate(response, "Last-Modified") }, response);
    }

    /// <summary>Deletes the blob; throws 404 BlobNotFound when absent.</summary>
    public async Task<Response> DeleteAsync(DeleteSnapshotsOption snapshotsOption = DeleteSnapshotsOption.None, BlobRequestConditions? conditions = null, CancellationToken cancellation = default)
    {
        using var message = CreateDelete(snapshotsOption, conditions);
        return await _context.SendAsync(message, cancellation, 202);
    }

    /// <summary>Deletes the blob if it exists.</summary>
    public async Task<Response<bool>> DeleteIfExistsAsync(DeleteSnapshotsOption snapshotsOption = DeleteSnapshotsOption.None, BlobRequestConditions? conditions = null, CancellationToken cancellation = default)
    {
        using var message = CreateDelete(snapshotsOption, conditions);
        var response = await _context.SendAsync(message, cancellation, 202, 404);
        if (response.Status == 404 && BlobProtocol.Header(response, "x-ms-error-code") == "ContainerNotFound")
            throw await _context.CreateExceptionAsync(message, cancellation);
        return Response.FromValue(response.Status == 202, response);
    }

    private HttpMessage CreateDelete(DeleteSnapshotsOption snapshotsOption, BlobRequestConditions? conditions)
    {
        var message = _context.CreateMessage(RequestMethod.Delete, Uri);
        if (snapshotsOption != DeleteSnapshotsOption.None)
            message.Request.Headers.SetValue("x-ms-delete-snapshots", snapshotsOption == DeleteSnapshotsOption.IncludeSnapshots ? "include" : "only");
        BlobProtocol.ApplyConditions(message.Request, conditions);
        return message;
    }

    /// <summary>A SAS URI for this blob signed with the account key.</summary>
    public Uri GenerateSasUri(BlobSasPermissions permissions, DateTimeOffset expiresOn)
    {
        var builder = new BlobSasBuilder { BlobContainerName = BlobContainerName, BlobName = Name, ExpiresOn = expiresOn, Resource = "b" };
        builder.SetPermissions(permissions);
        return GenerateSasUri(builder);
    }

    /// <summary>A SAS URI for this blob from a builder, signed with the account key.</summary>
    public Uri GenerateSasUri(BlobSasBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var key = _context.SharedKey ?? throw new InvalidOperationException("Generating a SAS needs a client built with an account key.");
        return new UriBuilder(Uri) { Query = builder.ToSasQueryParameters(key).ToString() }.Uri;
    }

}

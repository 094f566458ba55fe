using System.Runtime.CompilerServices;
using Azure;
using Azure.Core;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Serverless.Storage;

/// <summary>
/// <see cref="IBlobStore"/> on an Azure Blob Storage container (Azurite locally), through the official SDK
/// (Azure.Storage.Blobs). Any credential the SDK takes works: a connection string (account key, SAS, or
/// <c>UseDevelopmentStorage=true</c>), a SAS URI, or an Entra ID <see cref="TokenCredential"/> (Azure.Identity's
/// <c>DefaultAzureCredential</c>, a managed identity).
/// <para>The container is created on first upload; a credential that may not create containers (a container SAS, a
/// data-plane role) is fine when the container exists. Publishing is atomic on the service's side: a blob becomes
/// visible only when Put Blob or Put Block List commits, and conditions (If-None-Match, If-Match) are checked there.
/// Uploads and downloads stream: an upload holds at most about (concurrency + 1) blocks in memory, a download is one
/// GET that the SDK resumes with a ranged, If-Match GET if the connection breaks.</para>
/// <para>ETags are returned unquoted (<c>0x8D…</c>), whichever form the SDK hands out (headers and listings differ),
/// so the same version has the same ETag string from upload, properties and listing. Listing order is the service's
/// (UTF-8 byte order, equal to ordinal order except for characters outside the BMP). A 403 becomes a
/// <see cref="StorageAccessDeniedException"/> naming the account and endpoint.</para>
/// </summary>
public sealed class AzureBlobStore : IBlobStore
{
    private readonly BlobContainerClient _container;
    private readonly AzureBlobStoreOptions _options;
    private readonly StorageTransferOptions _transfer;
    private readonly Uri _endpoint;
    private readonly SemaphoreSlim _createGate = new(1, 1);
    private volatile bool _containerReady;

    /// <summary>Uses <paramref name="container"/> (created on first upload).</summary>
    public AzureBlobStore(BlobContainerClient container, AzureBlobStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(container);
        _container = container;
        _options = options ?? new AzureBlobStoreOptions();
        var given = _options.TransferOptions;
        var defaults = AzureBlobStoreOptions.DefaultTransferOptions;
        _transfer = new StorageTransferOptions
        {
            InitialTransferSize = given.InitialTransferSize ?? defaults.InitialTransferSize,
            MaximumTransferSize = given.MaximumTransferSize ?? defaults.MaximumTransferSize,
            MaximumConcurrency = given.MaximumConcurrency ?? defaults.MaximumConcurrency,
        };
        _endpoint = new Uri(container.Uri.GetLeftPart(UriPartial.Path));
    }

    /// <summary>From a connection string (account key, <c>SharedAccessSignature=</c>, or <c>UseDevelopmentStorage=true</c>
    /// for Azurite on its default ports) and a container name.</summary>
    /// <exception cref="ArgumentException">The connection string is empty or malformed (the message names the problem, never the key).</exception>
    public AzureBlobStore(string connectionString, string containerName, AzureBlobStoreOptions? options = null)
        : this(ContainerFromConnectionString(connectionString, containerName, options?.ClientOptions), options)
    {
    }

    /// <summary>From a container URI and an Entra ID credential (e.g. Azure.Identity's <c>DefaultAzureCredential</c>);
    /// the token is requested for the scope <c>https://storage.azure.com/.default</c>. Needs an https endpoint: the SDK
    /// refuses to send bearer tokens over plain http.</summary>
    public AzureBlobStore(Uri containerUri, TokenCredential credential, AzureBlobStoreOptions? options = null)
        : this(new BlobContainerClient(containerUri, credential, options?.ClientOptions), options)
    {
    }

    /// <summary>From a container URI that carries its own authorization: a SAS (<c>…?sv=…&amp;sig=…</c>), or none for a
    /// public container.</summary>
    public AzureBlobStore(Uri containerUri, AzureBlobStoreOptions? options = null)
        : this(new BlobContainerClient(containerUri, options?.ClientOptions), options)
    {
    }

    /// <summary>
    /// The store an app setting names, resolved the way Azure Functions resolves a storage "connection"
    /// (<see cref="StorageConnection.Resolve"/> for the blob service): a connection string in <paramref name="connectionName"/>,
    /// or keyless with <c>{connectionName}__blobServiceUri</c> (or <c>__serviceUri</c>, <c>__accountName</c>) and an Entra ID
    /// token. So one configuration works on a laptop (Azurite), with keys, and keyless in Azure.
    /// </summary>
    /// <param name="connectionName">The setting name, e.g. <c>AzureWebJobsStorage</c>.</param>
    /// <param name="getSetting">Reads an app setting (environment variable) by name.</param>
    /// <param name="containerName">The container (created on first upload).</param>
    /// <param name="options">Store options.</param>
    /// <param name="credential">The Entra ID credential for an identity-based connection; null = chosen as described.</param>
    /// <exception cref="InvalidOperationException">None of the settings is set; the message names every setting looked for.</exception>
    public static AzureBlobStore FromConnectionSetting(string connectionName, Func<string, string?> getSetting, string containerName,
        AzureBlobStoreOptions? options = null, TokenCredential? credential = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(containerName);
        var connection = StorageConnection.Resolve(connectionName, getSetting, "blob", credential);
        return connection.ConnectionString is { } connectionString
            ? new AzureBlobStore(connectionString, containerName, options)
            : new AzureBlobStore(connection.ResourceUri(containerName), connection.Credential!, options);
    }

    /// <summary>The container client (for operations the port does not cover).</summary>
    public BlobContainerClient Container => _container;

    /// <summary>The upload chunking in effect (the options' values, unset ones from <see cref="AzureBlobStoreOptions.DefaultTransferOptions"/>).</summary>
    public StorageTransferOptions TransferOptions => _transfer;

    /// <inheritdoc />
    public string Description => $"Azure blob container {_endpoint.AbsoluteUri} (account '{_container.AccountName}')";

    /// <inheritdoc />
    public async Task<BlobItemProperties> UploadAsync(string name, Stream content, Storage.BlobUploadOptions? options = null, CancellationToken cancellation = default)
    {
        BlobNames.Validate(name);
        ArgumentNullException.ThrowIfNull(content);
        await EnsureContainerAsync(cancellation).ConfigureAwait(false);
        var counting = new CountingStream(content);
        var metadata = options?.Metadata == null ? new Dictionary<string, string>() : new Dictionary<string, string>(options.Metadata);
        var upload = new Azure.Storage.Blobs.Models.BlobUploadOptions
        {
            Metadata = metadata,
            TransferOptions = _transfer,
            Conditions = new BlobRequestConditions
            {
                IfNoneMatch = options?.IfNotExists == true ? ETag.All : null,
                IfMatch = options?.IfMatch is { } m ? new ETag(Quoted(m)) : null,
            },
        };
        try
        {
            var result = await _container.GetBlobClient(name).UploadAsync(counting, upload, cancellation).ConfigureAwait(false);
            return new BlobItemProperties(name, counting.Count, Unquoted(result.Value.ETag.ToString()), result.Value.LastModified, metadata);
        }
        catch (RequestFailedException e) when (e.Status == 409 && e.ErrorCode == BlobErrorCode.BlobAlreadyExists)
        {
            throw new BlobConditionFailedException(name, "If-None-Match: * (the blob exists)");
        }
        catch (RequestFailedException e) when (e.Status == 412 || (e.Status == 404 && e.ErrorCode == BlobErrorCode.BlobNotFound && options?.IfMatch != null))
        {
            throw new BlobConditionFailedException(name, $"If-Match: {options?.IfMatch}");
        }
        catch (RequestFailedException e) when (e.Status == 403)
        {
            throw AccessDenied(name, e);
        }
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string name, CancellationToken cancellation = default)
    {
        BlobNames.Validate(name);
        try
        {
            var download = await _container.GetBlobClient(name).DownloadStreamingAsync(cancellationToken: cancellation).ConfigureAwait(false);
            return download.Value.Content;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new BlobNotFoundException(name, Description);
        }
        catch (RequestFailedException e) when (e.Status == 403)
        {
            throw AccessDenied(name, e);
        }
    }

    /// <inheritdoc />
    public async Task<BlobItemProperties?> GetPropertiesAsync(string name, CancellationToken cancellation = default)
    {
        BlobNames.Validate(name);
        try
        {
            var p = (await _container.GetBlobClient(name).GetPropertiesAsync(cancellationToken: cancellation).ConfigureAwait(false)).Value;
            return new BlobItemProperties(name, p.ContentLength, Unquoted(p.ETag.ToString()), p.LastModified, new Dictionary<string, string>(p.Metadata));
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (RequestFailedException e) when (e.Status == 403)
        {
            throw AccessDenied(name, e);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<BlobItemProperties> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        BlobNames.ValidatePrefix(prefix);
        var pages = _container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, prefix, cancellation).AsPages(null, _options.ListPageSize);
        await using var enumerator = pages.GetAsyncEnumerator(cancellation);
        while (true)
        {
            try
            {
                if (!await enumerator.MoveNextAsync().ConfigureAwait(false)) yield break;
            }
            catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == BlobErrorCode.ContainerNotFound)
            {
                yield break; // nothing uploaded yet: an empty store
            }
            catch (RequestFailedException e) when (e.Status == 403)
            {
                throw AccessDenied(null, e);
            }

            foreach (var item in enumerator.Current.Values)
            {
                yield return new BlobItemProperties(item.Name, item.Properties.ContentLength ?? 0,
                    item.Properties.ETag is { } etag ? Unquoted(etag.ToString()) : string.Empty,
                    item.Properties.LastModified ?? default, new Dictionary<string, string>(item.Metadata ?? new Dictionary<string, string>()));
            }
        }
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellation = default)
    {
        BlobNames.Validate(name);
        try
        {
            return (await _container.GetBlobClient(name).DeleteIfExistsAsync(cancellationToken: cancellation).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            return false;
        }
        catch (RequestFailedException e) when (e.Status == 403)
        {
            throw AccessDenied(name, e);
        }
    }

    /// <summary>The SDK hands out ETags with quotes from response headers and without from listings; the store returns one
    /// form for both, unquoted, as it did on our former REST client (receipts of the blob trigger are named after it).</summary>
    private static string Unquoted(string etag) => etag.Trim('"');

    /// <summary>An If-Match value as HTTP wants it (quoted), whichever form the caller holds.</summary>
    private static string Quoted(string etag) => $"\"{etag.Trim('"')}\"";

    private StorageAccessDeniedException AccessDenied(string? name, RequestFailedException e) => new(_container.AccountName, _endpoint, name, e);

    private static BlobContainerClient ContainerFromConnectionString(string connectionString, string containerName, BlobClientOptions? options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(containerName);
        try
        {
            return new BlobContainerClient(connectionString, containerName, options);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            // The SDK's messages are terse ("Connection string doesn't have value for keyword 'AccountName'."); they never
            // echo the key, and neither does this one.
            throw new ArgumentException($"Invalid Azure Storage connection string for container '{containerName}': {e.Message} " +
                "Expected 'DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…', 'BlobEndpoint=…;SharedAccessSignature=…' " +
                "or 'UseDevelopmentStorage=true'.", nameof(connectionString), e);
        }
    }

    private async Task EnsureContainerAsync(CancellationToken cancellation)
    {
        if (_containerReady) return;
        await _createGate.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            if (_containerReady) return;
            try
            {
                await _container.CreateIfNotExistsAsync(cancellationToken: cancellation).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 403)
            {
                // A credential scoped to the container (a container SAS, a data-plane role) may not create containers; the
                // container then has to exist already, and if it does not, the upload itself reports why.
            }
            _containerReady = true;
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
            var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
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

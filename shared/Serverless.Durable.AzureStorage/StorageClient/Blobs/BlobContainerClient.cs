using System.Globalization;
using System.Xml.Linq;
using Azure;
using Azure.Core;
using Serverless.Storage.Sas;

namespace Serverless.Storage.Blobs;

// Inside the namespace so the SDK-named models win over the IBlobStore port types of the same name.
using Serverless.Storage.Blobs.Models;

/// <summary>
/// A blob container (named after Azure.Storage.Blobs' type). Operations on a missing container throw a
/// <see cref="RequestFailedException"/> with ErrorCode "ContainerNotFound" whose message says to create it.
/// </summary>
public sealed class BlobContainerClient
{
    private readonly StorageContext _context;

    /// <summary>From a connection string and container name.</summary>
    public BlobContainerClient(string connectionString, string blobContainerName, BlobClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        ArgumentException.ThrowIfNullOrEmpty(blobContainerName);
        var cs = StorageConnectionString.Parse(connectionString);
        options ??= new BlobClientOptions();
        var (context, service) = StorageContext.Create(cs, cs.GetRequiredBlobEndpoint(), options, options.ApiVersion);
        _context = context;
        Uri = StorageContext.AppendPath(service, blobContainerName, keepSlashes: false);
        Name = blobContainerName;
    }

    /// <summary>From a container URI, anonymous or with a SAS in its query.</summary>
    public BlobContainerClient(Uri blobContainerUri, BlobClientOptions? options = null) : this(blobContainerUri, (object?)null, options) { }

    /// <summary>With an account key.</summary>
    public BlobContainerClient(Uri blobContainerUri, StorageSharedKeyCredential credential, BlobClientOptions? options = null) : this(blobContainerUri, (object)credential, options) { }

    /// <summary>With a SAS credential.</summary>
    public BlobContainerClient(Uri blobContainerUri, AzureSasCredential credential, BlobClientOptions? options = null) : this(blobContainerUri, (object)credential, options) { }

    /// <summary>With an Entra ID token credential; needs https.</summary>
    public BlobContainerClient(Uri blobContainerUri, TokenCredential credential, BlobClientOptions? options = null) : this(blobContainerUri, (object)credential, options) { }

    private BlobContainerClient(Uri uri, object? credential, BlobClientOptions? options)
    {
        ArgumentNullException.ThrowIfNull(uri);
        options ??= new BlobClientOptions();
        (_context, Uri) = StorageContext.Create(uri, credential, options, options.ApiVersion);
        Name = Uri.UnescapeDataString(Uri.AbsolutePath.TrimEnd('/').Split('/')[^1]);
    }

    internal BlobContainerClient(StorageContext context, Uri uri, string name)
    {
        _context = context;
        Uri = uri;
        Name = name;
    }

    /// <summary>The container URI (without SAS).</summary>
    public Uri Uri { get; }

    /// <summary>The container name.</summary>
    public string Name { get; }

    /// <summary>The account name.</summary>
    public string AccountName => _context.AccountName;

    internal StorageContext Context => _context;

    /// <summary>A client for a blob in this container; '/' in the name is a virtual directory separator.</summary>
    public BlobClient GetBlobClient(string blobName)
    {
        ArgumentException.ThrowIfNullOrEmpty(blobName);
        return new BlobClient(_context, StorageContext.AppendPath(Uri, blobName, keepSlashes: true), Name, blobName);
    }

    /// <summary>Creates the container; fails with 409 ContainerAlreadyExists if it exists.</summary>
    public async Task<Response<BlobContainerInfo>> CreateAsync(IDictionary<string, string>? metadata = null, CancellationToken cancellation = default)
    {
        using var message = _context.CreateMessage(RequestMethod.Put, Uri, ("restype", "container"));
        BlobProtocol.ApplyMetadata(message.Request, metadata);
        var response = await _context.SendAsync(message, cancellation, 201);
        return Response.FromValue(new BlobContainerInfo { ETag = BlobProtocol.ReadETag(response), LastModified = BlobProtocol.ReadDate(response, "Last-Modified") }, response);
    }

    /// <summary>Creates the container unless it exists; returns null when it already existed (as the SDK does).</summary>
    public async Task<Response<BlobContainerInfo>?> CreateIfNotExistsAsync(IDictionary<string, string>? metadata = null, CancellationToken cancellation = default)
    {
        try
        {
            return await CreateAsync(metadata, cancellation);
        }
        catch (RequestFailedException e) when (e.Status == 409 && e.ErrorCode == "ContainerAlreadyExists")
        {
            return null;
        }
    }

    /// <summary>Marks the container for deletion (the service deletes it asynchronously; re-creating the same name may fail for ~30 s on Azure).</summary>
    public async Task<Response> DeleteAsync(BlobRequestConditions? conditions = null, CancellationToken cancellation = default)
    {
        using var message = _context.CreateMessage(RequestMethod.Delete, Uri, ("restype", "container"));
        BlobProtocol.ApplyConditions(message.Request, conditions);
        return await _context.SendAsync(message, cancellation, 202);
    }

    /// <summary>Deletes the container if it exists.</summary>
    public async Task<Response<bool>> DeleteIfExistsAsync(BlobRequestConditions? conditions = null, CancellationToken cancellation = default)
    {
        using var message = _context.CreateMessage(RequestMethod.Delete, Uri, ("restype", "container"));
        BlobProtocol.ApplyConditions(message.Request, conditions);
        var response = await _context.SendAsync(message, cancellation, 202, 404);
        return Response.FromValue(response.Status == 202, response);
    }

    /// <summary>Whether the container exists.</summary>
    public async Task<Response<bool>> ExistsAsync(CancellationToken cancellation = default)
    {
        using var message = _context.CreateMessage(RequestMethod.Head, Uri, ("restype", "container"));
        var response = await _context.SendAsync(message, cancellation, 200, 404);
        return Response.FromValue(response.Status == 200, response);
    }

    /// <summary>Container properties and metadata.</summary>
    public async Task<Response<BlobContainerProperties>> GetPropertiesAsync(BlobRequestConditions? conditions = null, CancellationToken cancellation = default)
    {
        using var message = _context.CreateMessage(RequestMethod.Get, Uri, ("restype", "container"));
        BlobProtocol.ApplyConditions(message.Request, conditions);
        var response = await _context.SendAsync(message, cancellation, 200);
        return Response.FromValue(new BlobContainerProperties
        {
            ETag = BlobProtocol.ReadETag(response),
            LastModified = BlobProtocol.ReadDate(response, "Last-Modified"),
            Metadata = BlobProtocol.ReadMetadata(response),
            LeaseState = BlobProtocol.ParseLeaseState(BlobProtocol.Header(response, "x-ms-lease-state")),
        }, response);
    }

    /// <summary>
    /// Lists blobs whose names start with <paramref name="prefix"/>, in the service's order (UTF-8 binary name order),
    /// page by page following NextMarker. Use <c>AsPages(continuationToken, pageSizeHint)</c> to control the page size (maxresults, at most 5000).
    /// </summary>
    public AsyncPageable<BlobItem> GetBlobsAsync(BlobTraits traits = BlobTraits.None, BlobStates states = BlobStates.None, string? prefix = null, CancellationToken cancellation = default)
    {
        var include = new List<string>();
        if (traits.HasFlag(BlobTraits.Metadata)) include.Add("metadata");
        if (states.HasFlag(BlobStates.Uncommitted)) include.Add("uncommittedblobs");
        return new StoragePageable<BlobItem>((marker, pageSize, ct) => ListPageAsync(prefix, marker, pageSize, include, ct), cancellation);
    }

    private async Task<Page<BlobItem>> ListPageAsync(string? prefix, string? marker, int? pageSize, List<string> include, CancellationToken cancellation)
    {
        using var message = _context.CreateMessage(RequestMethod.Get, Uri,
            ("restype", "container"), ("comp", "list"),
            ("prefix", string.IsNullOrEmpty(prefix) ? null : prefix),
            ("marker", string.IsNullOrEmpty(marker) ? null : marker),
            ("maxresults", pageSize?.ToString(CultureInfo.InvariantCulture)),
            ("include", include.Count == 0 ? null : string.Join(',', include)));
        var response = await _context.SendAsync(message, cancellation, 200);
        var xml = XDocument.Load(response.ContentStream!);
        var items = new List<BlobItem>();
        foreach (var blob in xml.Root!.Element("Blobs")?.Elements("Blob") ?? [])
        {
            var props = blob.Element("Properties");
            string? P(string name) => props?.Element(name)?.Value;
            var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var m in blob.Element("Metadata")?.Elements() ?? []) metadata[m.Name.LocalName] = m.Value;
            items.Add(new BlobItem
            {
                Name = blob.Element("Name")?.Value ?? string.Empty,
                Metadata = metadata,
                Properties = new Models.BlobItemProperties
                {
                    LastModified = P("Last-Modified") is { } lm ? BlobProtocol.ParseDate(lm) : null,
                    ContentLength = P("Content-Length") is { } cl ? long.Parse(cl, CultureInfo.InvariantCulture) : null,
                    ContentType = P("Content-Type"),
                    ETag = P("Etag") is { } et ? BlobProtocol.NormalizeETag(et) : null,
                    BlobType = BlobProtocol.ParseBlobType(P("BlobType")),
                    LeaseState = BlobProtocol.ParseLeaseState(P("LeaseState")),
                },
            });
        }
        var next = xml.Root.Element("NextMarker")?.Value;
        return Page<BlobItem>.FromValues(items, string.IsNullOrEmpty(next) ? null : next, response);
    }

    /// <summary>A SAS URI for this container signed with the account key.</summary>
    public Uri GenerateSasUri(BlobContainerSasPermissions permissions, DateTimeOffset expiresOn)
    {
        var builder = new BlobSasBuilder { BlobContainerName = Name, ExpiresOn = expiresOn, Resource = "c" };
        builder.SetPermissions(permissions);
        return GenerateSasUri(builder);
    }

    /// <summary>A SAS URI for this container from a builder, signed with the account key.</summary>
    public Uri GenerateSasUri(BlobSasBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var key = _context.SharedKey ?? throw new InvalidOperationException("Generating a SAS needs a client built with an account key.");
        return new UriBuilder(Uri) { Query = builder.ToSasQueryParameters(key).ToString() }.Uri;
    }
}

/// <summary>Pages fetched on demand by a delegate, following continuation tokens (NextMarker).</summary>
internal sealed class StoragePageable<T>(Func<string?, int?, CancellationToken, Task<Page<T>>> fetch, CancellationToken cancellation)
    : AsyncPageable<T>(cancellation)
    where T : notnull
{
    public override async IAsyncEnumerable<Page<T>> AsPages(string? continuationToken = null, int? pageSizeHint = null)
    {
        do
        {
            var page = await fetch(continuationToken, pageSizeHint, CancellationToken);
            yield return page;
            continuationToken = page.ContinuationToken;
        }
        while (!string.IsNullOrEmpty(continuationToken));
    }
}

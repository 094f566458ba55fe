using Azure;
using Azure.Core;
using Serverless.Storage.Sas;

namespace Serverless.Storage.Blobs;

/// <summary>
/// Entry point to a storage account's blob service (named after Azure.Storage.Blobs' type; same constructors).
/// Children created by <see cref="GetBlobContainerClient"/> share its pipeline and credentials.
/// </summary>
public sealed class BlobServiceClient
{
    private readonly StorageContext _context;

    /// <summary>From a connection string (see <see cref="StorageConnectionString"/>).</summary>
    public BlobServiceClient(string connectionString, BlobClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var cs = StorageConnectionString.Parse(connectionString);
        options ??= new BlobClientOptions();
        (_context, Uri) = StorageContext.Create(cs, cs.GetRequiredBlobEndpoint(), options, options.ApiVersion);
    }

    /// <summary>From a service URI, anonymous or with a SAS in its query.</summary>
    public BlobServiceClient(Uri serviceUri, BlobClientOptions? options = null) : this(serviceUri, (object?)null, options) { }

    /// <summary>With an account key (SharedKey signing).</summary>
    public BlobServiceClient(Uri serviceUri, StorageSharedKeyCredential credential, BlobClientOptions? options = null) : this(serviceUri, (object)credential, options) { }

    /// <summary>With a SAS credential.</summary>
    public BlobServiceClient(Uri serviceUri, AzureSasCredential credential, BlobClientOptions? options = null) : this(serviceUri, (object)credential, options) { }

    /// <summary>With an Entra ID token credential (e.g. DefaultAzureCredential); needs https.</summary>
    public BlobServiceClient(Uri serviceUri, TokenCredential credential, BlobClientOptions? options = null) : this(serviceUri, (object)credential, options) { }

    private BlobServiceClient(Uri serviceUri, object? credential, BlobClientOptions? options)
    {
        ArgumentNullException.ThrowIfNull(serviceUri);
        options ??= new BlobClientOptions();
        (_context, Uri) = StorageContext.Create(serviceUri, credential, options, options.ApiVersion);
    }

    /// <summary>The service endpoint (without SAS).</summary>
    public Uri Uri { get; }

    /// <summary>The account name.</summary>
    public string AccountName => _context.AccountName;

    /// <summary>Whether this client can sign SAS tokens (it was built with an account key).</summary>
    public bool CanGenerateAccountSasUri => _context.SharedKey != null;

    /// <summary>A client for one container.</summary>
    public BlobContainerClient GetBlobContainerClient(string blobContainerName)
    {
        ArgumentException.ThrowIfNullOrEmpty(blobContainerName);
        return new BlobContainerClient(_context, StorageContext.AppendPath(Uri, blobContainerName, keepSlashes: false), blobContainerName);
    }

    /// <summary>An account SAS URI for this service, signed with the account key.</summary>
    public Uri GenerateAccountSasUri(AccountSasPermissions permissions, DateTimeOffset expiresOn, AccountSasResourceTypes resourceTypes)
    {
        var key = _context.SharedKey ?? throw new InvalidOperationException("Generating a SAS needs a client built with an account key.");
        var sas = new AccountSasBuilder(permissions, expiresOn, AccountSasServices.Blobs, resourceTypes).ToSasQueryParameters(key);
        return new UriBuilder(Uri) { Query = sas.ToString() }.Uri;
    }
}

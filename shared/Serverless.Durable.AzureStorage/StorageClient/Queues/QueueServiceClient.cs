using Azure;
using Azure.Core;

namespace Serverless.Storage.Queues;

/// <summary>Entry point to a storage account's queue service (named after Azure.Storage.Queues' type).</summary>
public sealed class QueueServiceClient
{
    private readonly StorageContext _context;
    private readonly QueueMessageEncodingHolder _encoding;

    /// <summary>From a connection string.</summary>
    public QueueServiceClient(string connectionString, QueueClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var cs = StorageConnectionString.Parse(connectionString);
        options ??= new QueueClientOptions();
        (_context, Uri) = StorageContext.Create(cs, cs.GetRequiredQueueEndpoint(), options, options.ApiVersion);
        _encoding = new(options.MessageEncoding);
    }

    /// <summary>From a service URI, anonymous or with a SAS in its query.</summary>
    public QueueServiceClient(Uri serviceUri, QueueClientOptions? options = null) : this(serviceUri, (object?)null, options) { }

    /// <summary>With an account key.</summary>
    public QueueServiceClient(Uri serviceUri, StorageSharedKeyCredential credential, QueueClientOptions? options = null) : this(serviceUri, (object)credential, options) { }

    /// <summary>With a SAS credential.</summary>
    public QueueServiceClient(Uri serviceUri, AzureSasCredential credential, QueueClientOptions? options = null) : this(serviceUri, (object)credential, options) { }

    /// <summary>With an Entra ID token credential; needs https.</summary>
    public QueueServiceClient(Uri serviceUri, TokenCredential credential, QueueClientOptions? options = null) : this(serviceUri, (object)credential, options) { }

    private QueueServiceClient(Uri serviceUri, object? credential, QueueClientOptions? options)
    {
        ArgumentNullException.ThrowIfNull(serviceUri);
        options ??= new QueueClientOptions();
        (_context, Uri) = StorageContext.Create(serviceUri, credential, options, options.ApiVersion);
        _encoding = new(options.MessageEncoding);
    }

    /// <summary>The service endpoint (without SAS).</summary>
    public Uri Uri { get; }

    /// <summary>The account name.</summary>
    public string AccountName => _context.AccountName;

    /// <summary>A client for one queue (names: 3-63 lower-case letters, digits and dashes).</summary>
    public QueueClient GetQueueClient(string queueName)
    {
        ArgumentException.ThrowIfNullOrEmpty(queueName);
        return new QueueClient(_context, StorageContext.AppendPath(Uri, queueName, keepSlashes: false), queueName, _encoding.Encoding);
    }
}

internal sealed record QueueMessageEncodingHolder(Models.QueueMessageEncoding Encoding);

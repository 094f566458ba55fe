using Azure.Core;
using Serverless.Storage.Queues.Models;

namespace Serverless.Storage.Queues;

/// <summary>Options of the queue clients: retry with exponential backoff, diagnostics, message encoding.</summary>
public sealed class QueueClientOptions : ClientOptions
{
    /// <summary>Creates options with the storage defaults.</summary>
    public QueueClientOptions() => StorageClientDefaults.Apply(this);

    /// <summary>REST API version sent as x-ms-version.</summary>
    public string ApiVersion { get; set; } = StorageClientDefaults.ApiVersion;

    /// <summary>Message encoding; default <see cref="QueueMessageEncoding.None"/> (plain text), as in the official SDK.</summary>
    public QueueMessageEncoding MessageEncoding { get; set; } = QueueMessageEncoding.None;
}

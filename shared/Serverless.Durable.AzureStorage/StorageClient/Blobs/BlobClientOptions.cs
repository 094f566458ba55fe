using Azure.Core;

namespace Serverless.Storage.Blobs;

/// <summary>
/// Options of the blob clients: Azure.Core's retry (exponential backoff, 5 retries, 0.5-30 s), transport and
/// diagnostics (events of the "Azure-Core" EventSource; listen with <c>AzureEventSourceListener</c>).
/// </summary>
public sealed class BlobClientOptions : ClientOptions
{
    /// <summary>Creates options with the storage defaults.</summary>
    public BlobClientOptions() => StorageClientDefaults.Apply(this);

    /// <summary>REST API version sent as x-ms-version (default 2025-01-05).</summary>
    public string ApiVersion { get; set; } = StorageClientDefaults.ApiVersion;
}

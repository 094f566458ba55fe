using Azure.Core;

namespace Serverless.Storage;

/// <summary>Defaults shared by <c>BlobClientOptions</c> and <c>QueueClientOptions</c>.</summary>
internal static class StorageClientDefaults
{
    /// <summary>The REST API version we send (x-ms-version). Azurite 3.37 accepts up to 2026-06-06.</summary>
    public const string ApiVersion = "2025-01-05";

    /// <summary>Retry with exponential backoff (Azure.Core retries 408/429/500/502/503/504 and IO errors),
    /// and log the headers and query parameters that matter when diagnosing storage calls.</summary>
    public static void Apply(ClientOptions options)
    {
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = 5;
        options.Retry.Delay = TimeSpan.FromMilliseconds(500);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(30);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(100);
        foreach (var h in new[]
                 {
                     "x-ms-request-id", "x-ms-version", "x-ms-error-code", "x-ms-blob-type", "x-ms-lease-state", "x-ms-lease-status",
                     "x-ms-lease-id", "x-ms-approximate-messages-count", "x-ms-popreceipt", "x-ms-time-next-visible", "ETag",
                     "If-Match", "If-None-Match", "Content-Range", "x-ms-range",
                 })
        {
            options.Diagnostics.LoggedHeaderNames.Add(h);
        }
        foreach (var q in new[]
                 {
                     "comp", "restype", "prefix", "marker", "maxresults", "include", "blockid", "numofmessages", "visibilitytimeout",
                     "messagettl", "peekonly", "sv", "se", "sp", "sr", "ss", "srt",
                 })
        {
            options.Diagnostics.LoggedQueryParameters.Add(q);
        }
    }
}

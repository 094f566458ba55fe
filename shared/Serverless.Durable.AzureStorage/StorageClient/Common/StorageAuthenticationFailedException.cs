using Azure;

namespace Serverless.Storage;

/// <summary>
/// HTTP 403 from the storage service: the key, SAS or token was rejected or lacks permission. Derives from
/// <see cref="RequestFailedException"/> (as the official SDK throws) so generic handlers still catch it; the
/// message names the account and endpoint and carries the x-ms-request-id to quote to Azure support.
/// </summary>
public sealed class StorageAuthenticationFailedException : RequestFailedException
{
    /// <summary>Creates the exception.</summary>
    public StorageAuthenticationFailedException(string accountName, Uri endpoint, string? requestId, string? errorCode, string? serverMessage)
        : base(403, BuildMessage(accountName, endpoint, requestId, errorCode, serverMessage), errorCode, null)
    {
        AccountName = accountName;
        Endpoint = endpoint;
        RequestId = requestId;
    }

    /// <summary>The storage account the request was for.</summary>
    public string AccountName { get; }

    /// <summary>The resource URI without its query (no SAS secrets).</summary>
    public Uri Endpoint { get; }

    /// <summary>The service's x-ms-request-id, if it sent one.</summary>
    public string? RequestId { get; }

    private static string BuildMessage(string accountName, Uri endpoint, string? requestId, string? errorCode, string? serverMessage) =>
        $"Authentication failed for storage account '{accountName}' at endpoint {endpoint.AbsoluteUri} " +
        $"(HTTP 403 {errorCode ?? "Forbidden"}, x-ms-request-id: {requestId ?? "none"}): {serverMessage ?? "no details"}. " +
        "Check the account key, SAS token (permissions, expiry) or Entra ID role assignment.";
}

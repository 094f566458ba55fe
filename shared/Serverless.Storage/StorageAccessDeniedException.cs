using Azure;

namespace Serverless.Storage;

/// <summary>
/// HTTP 403 from Azure Blob Storage: the account key, SAS or Entra ID token was rejected or lacks a permission. The SDK's
/// own <see cref="RequestFailedException"/> says neither which account nor which endpoint refused, which is the first
/// thing an operator needs with several storage accounts and settings in play; this one names both (the URI without its
/// query, so no SAS signature leaks) and the x-ms-request-id to quote to Azure support. It derives from
/// <see cref="RequestFailedException"/>, so handlers written for the SDK still catch it; the SDK's exception is the
/// inner exception.
/// </summary>
public sealed class StorageAccessDeniedException : RequestFailedException
{
    /// <summary>Creates the exception from the SDK's 403.</summary>
    /// <param name="accountName">The storage account the request went to.</param>
    /// <param name="endpoint">The container (or blob) URI, without a query.</param>
    /// <param name="blobName">The blob the operation was on, if any.</param>
    /// <param name="inner">The SDK's exception (status 403).</param>
    public StorageAccessDeniedException(string accountName, Uri endpoint, string? blobName, RequestFailedException inner)
        : base(403, BuildMessage(accountName, endpoint, blobName, inner), inner?.ErrorCode, inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        AccountName = accountName;
        Endpoint = endpoint;
        RequestId = inner.GetRawResponse()?.Headers.RequestId;
    }

    /// <summary>The storage account the request was for.</summary>
    public string AccountName { get; }

    /// <summary>The container URI without its query (no SAS secrets).</summary>
    public Uri Endpoint { get; }

    /// <summary>The service's x-ms-request-id, if it sent one.</summary>
    public string? RequestId { get; }

    private static string BuildMessage(string accountName, Uri endpoint, string? blobName, RequestFailedException inner)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(inner);
        // The SDK's message starts with the service's own sentence; the rest is status, headers and the XML body again.
        var serverMessage = inner.Message.Split('\n', 2)[0].Trim();
        var requestId = inner.GetRawResponse()?.Headers.RequestId;
        var blob = blobName == null ? string.Empty : $", blob '{blobName}'";
        return $"Access denied by storage account '{accountName}' at endpoint {endpoint.AbsoluteUri}{blob} " +
               $"(HTTP 403 {inner.ErrorCode ?? "Forbidden"}, x-ms-request-id: {requestId ?? "none"}): {serverMessage} " +
               "Check the account key, the SAS token (permissions, expiry) or the Entra ID role assignment (Storage Blob Data Contributor).";
    }
}

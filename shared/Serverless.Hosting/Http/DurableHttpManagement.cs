using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;

namespace Serverless.Hosting.Http;

/// <summary>
/// Builds the management links of an instance, for HTTP-triggered starters that answer like Durable Functions'
/// <c>CreateCheckStatusResponse</c> (the management API's start route uses the same links).
/// </summary>
public static class DurableHttpManagement
{
    /// <summary>Creates the links of <paramref name="instanceId"/> relative to the host that received <paramref name="request"/>.</summary>
    /// <param name="request">The current request (its scheme, host and path base), unless <see cref="DurableHttpOptions.BaseUri"/> is set.</param>
    /// <param name="instanceId">The instance.</param>
    /// <param name="options">The API settings (access key and names put into the query strings).</param>
    /// <param name="taskHubName">The task hub; default <see cref="DurableHttpOptions.TaskHubName"/>, else left out.</param>
    public static HttpManagementPayload CreateHttpManagementPayload(HttpRequest request, string instanceId, DurableHttpOptions options, string? taskHubName = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentNullException.ThrowIfNull(options);
        var instance = BaseUrl(request, options.BaseUri) + DurableHttpOptions.RoutePrefix + "/instances/" + Uri.EscapeDataString(instanceId);
        var suffix = new StringBuilder();
        var hub = taskHubName ?? options.TaskHubName;
        if (!string.IsNullOrEmpty(hub)) suffix.Append("taskHub=").Append(Uri.EscapeDataString(hub));
        if (!string.IsNullOrEmpty(options.ConnectionName)) Append(suffix, "connection", options.ConnectionName);
        if (!string.IsNullOrEmpty(options.AccessKey)) Append(suffix, "code", options.AccessKey);
        var query = suffix.ToString();
        string With(string path, string? first = null)
        {
            var q = first is null ? query : query.Length == 0 ? first : first + "&" + query;
            return q.Length == 0 ? instance + path : instance + path + "?" + q;
        }
        return new HttpManagementPayload(
            instanceId,
            StatusQueryGetUri: With(""),
            SendEventPostUri: With("/raiseEvent/{eventName}"),
            TerminatePostUri: With("/terminate", "reason={text}"),
            SuspendPostUri: With("/suspend", "reason={text}"),
            ResumePostUri: With("/resume", "reason={text}"),
            PurgeHistoryDeleteUri: With(""),
            RestartPostUri: With("/restart", "restartWithNewInstanceId={restartWithNewInstanceId}"));
    }

    private static void Append(StringBuilder sb, string name, string value)
    {
        if (sb.Length > 0) sb.Append('&');
        sb.Append(name).Append('=').Append(Uri.EscapeDataString(value));
    }

    /// <summary>scheme://host/pathBase without a trailing slash.</summary>
    private static string BaseUrl(HttpRequest request, Uri? baseUri) =>
        baseUri is not null
            ? baseUri.GetLeftPart(UriPartial.Path).TrimEnd('/')
            : (request.Scheme + "://" + request.Host.ToUriComponent() + request.PathBase.ToUriComponent()).TrimEnd('/');

    /// <summary>The request's own URL (for Location while polling), rebased on <paramref name="baseUri"/> when set.</summary>
    internal static string RequestUrl(HttpRequest request, Uri? baseUri) =>
        baseUri is null
            ? request.GetEncodedUrl()
            : BaseUrl(request, baseUri) + request.Path.ToUriComponent() + request.QueryString.ToUriComponent();
}

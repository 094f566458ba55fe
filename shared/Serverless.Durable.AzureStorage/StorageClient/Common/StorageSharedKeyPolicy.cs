using System.Globalization;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Serverless.Storage;

/// <summary>
/// Signs each request (each retry, so x-ms-date is fresh) with SharedKey, as specified in "Authorize with
/// Shared Key" (Blob, Queue and File services, version 2009-09-19 and later):
/// <code>
/// VERB\nContent-Encoding\nContent-Language\nContent-Length (empty when 0)\nContent-MD5\nContent-Type\nDate (empty: we send x-ms-date)\n
/// If-Modified-Since\nIf-Match\nIf-None-Match\nIf-Unmodified-Since\nRange\n
/// CanonicalizedHeaders (x-ms-* lower-cased, sorted, "name:value\n") + CanonicalizedResource ("/account/encoded-path" then
/// "\nname:v1,v2" per query parameter, names lower-cased and sorted, values decoded)
/// </code>
/// Path-style (Azurite) URIs keep the account in the path, so the resource reads "/devstoreaccount1/devstoreaccount1/c/b".
/// </summary>
internal sealed class StorageSharedKeyPolicy(StorageSharedKeyCredential credential) : HttpPipelineSynchronousPolicy
{
    public override void OnSendingRequest(HttpMessage message)
    {
        var request = message.Request;
        request.Headers.SetValue("x-ms-date", DateTimeOffset.UtcNow.ToString("r", CultureInfo.InvariantCulture));
        var signature = credential.ComputeHmacSha256(BuildStringToSign(request, credential.AccountName));
        request.Headers.SetValue("Authorization", $"SharedKey {credential.AccountName}:{signature}");
    }

    internal static string BuildStringToSign(Request request, string accountName)
    {
        string H(string name) => request.Headers.TryGetValue(name, out var v) ? v : string.Empty;
        var length = request.Content != null && request.Content.TryComputeLength(out var l) && l > 0
            ? l.ToString(CultureInfo.InvariantCulture)
            : string.Empty;
        var sb = new StringBuilder();
        sb.Append(request.Method.Method.ToUpperInvariant()).Append('\n')
            .Append(H("Content-Encoding")).Append('\n')
            .Append(H("Content-Language")).Append('\n')
            .Append(length).Append('\n')
            .Append(H("Content-MD5")).Append('\n')
            .Append(H("Content-Type")).Append('\n')
            .Append('\n') // Date: x-ms-date is used instead
            .Append(H("If-Modified-Since")).Append('\n')
            .Append(H("If-Match")).Append('\n')
            .Append(H("If-None-Match")).Append('\n')
            .Append(H("If-Unmodified-Since")).Append('\n')
            .Append(H("Range")).Append('\n');

        foreach (var header in request.Headers
                     .Where(h => h.Name.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
                     .Select(h => (Name: h.Name.ToLowerInvariant(), h.Value))
                     .OrderBy(h => h.Name, StringComparer.Ordinal))
        {
            sb.Append(header.Name).Append(':').Append(header.Value.Trim()).Append('\n');
        }

        sb.Append('/').Append(accountName).Append(string.IsNullOrEmpty(request.Uri.Path) ? "/" : request.Uri.Path);
        var query = request.Uri.Query;
        if (query.Length > 1)
        {
            var parameters = query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
                .Select(p =>
                {
                    var eq = p.IndexOf('=', StringComparison.Ordinal);
                    var name = eq < 0 ? p : p[..eq];
                    var value = eq < 0 ? string.Empty : p[(eq + 1)..];
                    return (Name: Uri.UnescapeDataString(name).ToLowerInvariant(), Value: Uri.UnescapeDataString(value.Replace('+', ' ')));
                })
                .GroupBy(p => p.Name)
                .OrderBy(g => g.Key, StringComparer.Ordinal);
            foreach (var g in parameters)
            {
                sb.Append('\n').Append(g.Key).Append(':').Append(string.Join(',', g.Select(p => p.Value).Order(StringComparer.Ordinal)));
            }
        }
        return sb.ToString();
    }
}

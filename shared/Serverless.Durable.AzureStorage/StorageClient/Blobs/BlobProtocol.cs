using System.Globalization;
using Azure;
using Azure.Core;
using Serverless.Storage.Blobs.Models;

namespace Serverless.Storage.Blobs;

/// <summary>Header conventions shared by the blob clients.</summary>
internal static class BlobProtocol
{
    public static void ApplyConditions(Request request, BlobRequestConditions? conditions)
    {
        if (conditions == null) return;
        if (conditions.IfMatch is { } m) request.Headers.SetValue("If-Match", m.ToString("H"));
        if (conditions.IfNoneMatch is { } n) request.Headers.SetValue("If-None-Match", n.ToString("H"));
        if (conditions.IfModifiedSince is { } ms) request.Headers.SetValue("If-Modified-Since", ms.ToUniversalTime().ToString("r", CultureInfo.InvariantCulture));
        if (conditions.IfUnmodifiedSince is { } us) request.Headers.SetValue("If-Unmodified-Since", us.ToUniversalTime().ToString("r", CultureInfo.InvariantCulture));
        if (conditions.LeaseId is { } lease) request.Headers.SetValue("x-ms-lease-id", lease);
    }

    public static void ApplyMetadata(Request request, IDictionary<string, string>? metadata)
    {
        if (metadata == null) return;
        foreach (var (key, value) in metadata)
        {
            if (string.IsNullOrEmpty(key) || !(char.IsLetter(key[0]) || key[0] == '_') || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                throw new ArgumentException($"Metadata name '{key}' is not a valid C# identifier (letters, digits, '_').", nameof(metadata));
            if (value == null || !value.All(c => c >= 0x20 && c < 0x7f))
                throw new ArgumentException($"Metadata value of '{key}' must be printable ASCII (encode other text, e.g. base64).", nameof(metadata));
            request.Headers.SetValue("x-ms-meta-" + key, value);
        }
    }

    public static IDictionary<string, string> ReadMetadata(Response response)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in response.Headers)
        {
            if (header.Name.StartsWith("x-ms-meta-", StringComparison.OrdinalIgnoreCase))
                result[header.Name["x-ms-meta-".Length..]] = header.Value;
        }
        return result;
    }

    public static ETag ReadETag(Response response) => response.Headers.ETag ?? default;

    public static DateTimeOffset ReadDate(Response response, string name) =>
        response.Headers.TryGetValue(name, out var v) ? ParseDate(v) : default;

    public static DateTimeOffset ParseDate(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static string? Header(Response response, string name) => response.Headers.TryGetValue(name, out var v) ? v : null;

    public static BlobType ParseBlobType(string? value) => value switch
    {
        "PageBlob" => BlobType.Page,
        "AppendBlob" => BlobType.Append,
        _ => BlobType.Block,
    };

    public static LeaseState ParseLeaseState(string? value) => value switch
    {
        "leased" => LeaseState.Leased,
        "expired" => LeaseState.Expired,
        "breaking" => LeaseState.Breaking,
        "broken" => LeaseState.Broken,
        _ => LeaseState.Available,
    };

    /// <summary>Listing XML gives ETags unquoted, headers quoted; Azure.Core's header parser strips the quotes, so
    /// strip them here too and both compare equal.</summary>
    public static ETag NormalizeETag(string value) => new(value.Trim('"'));
}

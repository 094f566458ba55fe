using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Metadata;

namespace Serverless.Pipelines;

/// <summary>
/// What makes two executions interchangeable: the component type and version, the parameters, the content
/// fingerprints of the inputs, of the <see cref="ParameterType.Path"/> parameters and of the user code.
/// Timestamps, run ids and execution ids are deliberately absent.
/// </summary>
/// <param name="ComponentType">The component type.</param>
/// <param name="ComponentVersion">The component version.</param>
/// <param name="Parameters">Resolved parameters (defaults applied, types converted).</param>
/// <param name="InputFingerprints">Input channel -> artifact fingerprint.</param>
/// <param name="PathFingerprints">Path parameter -> content fingerprint of the file or folder.</param>
/// <param name="UserCodeFingerprint">Fingerprint of the node's user code; null when it has none.</param>
public sealed record CacheKey(
    string ComponentType,
    string ComponentVersion,
    IReadOnlyDictionary<string, MetadataValue> Parameters,
    IReadOnlyDictionary<string, string> InputFingerprints,
    IReadOnlyDictionary<string, string> PathFingerprints,
    string? UserCodeFingerprint)
{
    /// <summary>
    /// The canonical JSON that is hashed: keys sorted, no whitespace, e.g.
    /// <c>{"component":"CsvRowCount","version":"1","parameters":{"has_header":true},"inputs":{"examples":"sha256:..."},"paths":{},"user_code":null}</c>.
    /// </summary>
    public string ToCanonicalJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("component", ComponentType);
            writer.WriteString("version", ComponentVersion);
            writer.WritePropertyName("parameters");
            CanonicalJson.Write(writer, Parameters);
            writer.WritePropertyName("inputs");
            CanonicalJson.Write(writer, InputFingerprints);
            writer.WritePropertyName("paths");
            CanonicalJson.Write(writer, PathFingerprints);
            if (UserCodeFingerprint is null)
            {
                writer.WriteNull("user_code");
            }
            else
            {
                writer.WriteString("user_code", UserCodeFingerprint);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The key: <c>sha256:</c> and the hex SHA-256 of <see cref="ToCanonicalJson"/>.</summary>
    public string Compute() => Fingerprints.Prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToCanonicalJson())));

    /// <summary>Combines the fingerprints of several user code paths, in their declared order; null for none.</summary>
    public static string? CombineUserCode(IReadOnlyList<string> fingerprints)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        return fingerprints.Count == 0
            ? null
            : Fingerprints.Prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', fingerprints))));
    }
}

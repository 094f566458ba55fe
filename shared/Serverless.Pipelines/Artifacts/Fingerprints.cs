using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Metadata;

namespace Serverless.Pipelines;

/// <summary>
/// Content fingerprints (SHA-256, never timestamps), written <c>sha256:hex</c>. A file's fingerprint is the hash
/// of its bytes (what <c>sha256sum</c> prints); a folder's is the hash of its sorted file list with each
/// file's relative path, length and hash, so renaming or editing any file changes it.
/// </summary>
public static class Fingerprints
{
    /// <summary>The prefix of every fingerprint.</summary>
    public const string Prefix = "sha256:";

    /// <summary>Fingerprints a local file or folder.</summary>
    /// <exception cref="FileNotFoundException">The path does not exist.</exception>
    public static async Task<string> OfLocalPathAsync(string path, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path))
        {
            return Prefix + await HashFileAsync(path, cancellation).ConfigureAwait(false);
        }

        if (!Directory.Exists(path))
        {
            throw new FileNotFoundException($"Cannot fingerprint '{path}': no such file or folder.", path);
        }

        var files = new List<ArtifactFile>();
        foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(path, file).Replace('\\', '/');
            files.Add(new ArtifactFile(relative, new FileInfo(file).Length, await HashFileAsync(file, cancellation).ConfigureAwait(false)));
        }

        return OfFiles(files, MetadataMaps.Empty);
    }

    /// <summary>Fingerprints an artifact from its file list and properties (see <see cref="ArtifactManifest"/>).</summary>
    public static string OfFiles(IEnumerable<ArtifactFile> files, IReadOnlyDictionary<string, MetadataValue> properties)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(properties);
        var text = new StringBuilder();
        foreach (var file in files.OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            text.Append(file.Path).Append('\n').Append(file.Length).Append('\n').Append(file.Sha256).Append('\n');
        }

        text.Append(CanonicalJson.Of(properties));
        return Prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static async Task<string> HashFileAsync(string path, CancellationToken cancellation)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellation).ConfigureAwait(false));
        }
    }
}

/// <summary>
/// Canonical JSON for hashing: object keys sorted (ordinal), no whitespace, values as
/// <see cref="MetadataValue.WriteTo"/> writes them (doubles always with a decimal point or exponent).
/// </summary>
public static class CanonicalJson
{
    /// <summary>The canonical JSON of a property map.</summary>
    public static string Of(IReadOnlyDictionary<string, MetadataValue> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, values);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Writes a property map canonically.</summary>
    public static void Write(Utf8JsonWriter writer, IReadOnlyDictionary<string, MetadataValue> values)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(values);
        writer.WriteStartObject();
        foreach (var (name, value) in values.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            writer.WritePropertyName(name);
            value.WriteTo(writer);
        }

        writer.WriteEndObject();
    }

    /// <summary>Writes a string map canonically.</summary>
    public static void Write(Utf8JsonWriter writer, IEnumerable<KeyValuePair<string, string>> values)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(values);
        writer.WriteStartObject();
        foreach (var (name, value) in values.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            writer.WriteString(name, value);
        }

        writer.WriteEndObject();
    }
}

using Serverless.Metadata;

namespace Serverless.Pipelines;

/// <summary>
/// A published artifact as it travels between nodes (and across the durable engine's activity boundary as
/// JSON): its metadata id, type, blob prefix, content fingerprint and properties.
/// </summary>
/// <param name="Id">The artifact's id in the metadata store.</param>
/// <param name="Type">The artifact type, e.g. <see cref="ArtifactTypes.Examples"/>.</param>
/// <param name="Uri">The blob prefix holding its files: <c>{pipeline}/{node}/{output}/{executionId}</c>.</param>
/// <param name="Fingerprint">SHA-256 of its content (see <see cref="ArtifactManifest"/>), <c>sha256:hex</c>.</param>
/// <param name="Properties">The properties its executor set (e.g. <c>row_count</c>).</param>
public sealed record ArtifactRef(long Id, string Type, string Uri, string Fingerprint, IReadOnlyDictionary<string, MetadataValue> Properties);

/// <summary>One file of a published artifact.</summary>
/// <param name="Path">The path relative to the artifact's prefix, '/'-separated.</param>
/// <param name="Length">Size in bytes.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the content.</param>
public sealed record ArtifactFile(string Path, long Length, string Sha256);

/// <summary>
/// The completion marker of a published artifact (<see cref="ArtifactLayout.MarkerName"/>), written last:
/// its presence is what makes the artifact complete. It lists every file with its hash, so readers can
/// verify content and the fingerprint is computed from it.
/// </summary>
/// <param name="Type">The artifact type.</param>
/// <param name="Fingerprint">SHA-256 over the sorted file list (path, length, hash) and the canonical JSON of the properties.</param>
/// <param name="Files">Every file, sorted by path (ordinal).</param>
/// <param name="Properties">The properties the executor set.</param>
/// <param name="ExecutionId">The execution that produced it.</param>
/// <param name="PublishedAt">When it was published.</param>
public sealed record ArtifactManifest(
    string Type,
    string Fingerprint,
    IReadOnlyList<ArtifactFile> Files,
    IReadOnlyDictionary<string, MetadataValue> Properties,
    string ExecutionId,
    DateTimeOffset PublishedAt);

/// <summary>
/// Where artifacts live in the blob store. Final: <c>{pipeline}/{node}/{output}/{executionId}/</c>, complete only
/// once it holds <see cref="MarkerName"/>. Staging: <c>_staging/{pipeline}/{node}/{output}/{executionId}/{attempt}/</c>,
/// one folder per attempt so concurrent duplicates of an at-least-once activity never mix their files.
/// </summary>
public static class ArtifactLayout
{
    /// <summary>The completion marker's name within an artifact's prefix.</summary>
    public const string MarkerName = "_COMPLETE.json";

    /// <summary>The root of staging folders.</summary>
    public const string StagingRoot = "_staging";

    /// <summary>The final prefix of an output artifact (no trailing '/').</summary>
    public static string FinalPrefix(string pipeline, string node, string output, string executionId) =>
        $"{pipeline}/{node}/{output}/{executionId}";

    /// <summary>The staging prefix of one attempt at an output artifact (no trailing '/').</summary>
    public static string StagingPrefix(string pipeline, string node, string output, string executionId, string attempt) =>
        $"{StagingRoot}/{pipeline}/{node}/{output}/{executionId}/{attempt}";

    /// <summary>Checks a path an executor writes within an artifact: relative, '/'-separated, no empty, '.' or
    /// '..' segments, and not starting with '_' (reserved for the marker).</summary>
    /// <exception cref="ArgumentException">The path is not allowed.</exception>
    public static string CheckRelativePath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var segments = path.Split('/');
        if (path.StartsWith('_') || path.Contains('\\', StringComparison.Ordinal) || segments.Any(s => s is "" or "." or ".."))
        {
            throw new ArgumentException($"'{path}' is not a valid artifact file path: use relative '/'-separated names without '.', '..' or empty segments, not starting with '_'.", nameof(path));
        }

        return path;
    }
}

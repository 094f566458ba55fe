using System.Text.Json;
using Serverless.Metadata;
using Serverless.Pipelines;

namespace Serverless.Ml.Components;

/// <summary>
/// The property names the ML components record on their artifacts (and so in the metadata store), TFX's names where
/// TFX has one: downstream nodes, the drift lookup and lineage queries read them.
/// </summary>
public static class MlProperties
{
    /// <summary>The span read (<c>{SPAN}</c> in the input pattern); absent when the pattern has none.</summary>
    public const string Span = "span";

    /// <summary>The version read (<c>{VERSION}</c>); absent when the pattern has none.</summary>
    public const string Version = "version";

    /// <summary>The split names as a JSON array, e.g. <c>["train","eval"]</c> (TFX's <c>split_names</c>).</summary>
    public const string SplitNames = "split_names";

    /// <summary>Rows over all splits.</summary>
    public const string RowCount = "row_count";

    /// <summary>Prefix of per split row counts: <c>row_count_train</c>.</summary>
    public const string RowCountPrefix = "row_count_";

    /// <summary>CSV rows skipped under the bad-row tolerance.</summary>
    public const string BadRowCount = "bad_row_count";

    /// <summary>Anomalies over all splits (ExampleAnomalies).</summary>
    public const string AnomalyCount = "anomaly_count";
}

/// <summary>Moves artifact files between the blob store and a local scratch folder (the data library works on local files).</summary>
internal static class ArtifactFiles
{
    /// <summary>A fresh scratch folder (mode 0700), unique per execution attempt: under the host's scratch root, else a new
    /// private temporary folder (never a fixed shared folder another user could create first).</summary>
    public static string NewScratch(ExecutorContext context) =>
        context.ScratchDirectory is { } root
            ? PrivateFiles.CreateDirectory(Path.Combine(root, "components", $"{context.NodeId}-{context.ExecutionId}-{Guid.NewGuid():N}"))
            : Directory.CreateTempSubdirectory("sml-components-").FullName;

    /// <summary>Deletes a scratch folder, ignoring failures (it is only temporary data).</summary>
    public static void DeleteScratch(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Copies one artifact file to a local path.</summary>
    public static async Task<string> DownloadAsync(InputArtifact artifact, string path, string localFolder, CancellationToken cancellation)
    {
        var local = Path.Combine(localFolder, path.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);
        var source = await artifact.OpenReadAsync(path, cancellation).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            var target = new FileStream(local, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (target.ConfigureAwait(false))
            {
                await source.CopyToAsync(target, 1 << 20, cancellation).ConfigureAwait(false);
            }
        }

        return local;
    }

    /// <summary>Reads an artifact file as UTF-8 text.</summary>
    public static async Task<string> ReadTextAsync(InputArtifact artifact, string path, CancellationToken cancellation)
    {
        var stream = await artifact.OpenReadAsync(path, cancellation).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream);
            return await reader.ReadToEndAsync(cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>The split names an artifact records, in order; empty when the property is absent.</summary>
    public static IReadOnlyList<string> SplitNames(ArtifactRef artifact) =>
        artifact.Properties.TryGetValue(MlProperties.SplitNames, out var value) && value.Type == PropertyType.String
            ? JsonSerializer.Deserialize<List<string>>(value.StringValue!) ?? []
            : [];

    /// <summary>The JSON text of a split name list, as <see cref="MlProperties.SplitNames"/> stores it.</summary>
    public static string SplitNamesJson(IEnumerable<string> names) => JsonSerializer.Serialize(names.ToList());

    /// <summary>Copies span and version from an input artifact to an output, so lineage and drift lookups see them downstream.</summary>
    public static void CopySpanAndVersion(ArtifactRef from, OutputArtifact to)
    {
        foreach (var name in new[] { MlProperties.Span, MlProperties.Version })
        {
            if (from.Properties.TryGetValue(name, out var value))
            {
                to.Properties[name] = value;
            }
        }
    }

    /// <summary>
    /// <paramref name="splits"/> minus TFX's <c>exclude_splits</c> parameter (a comma-separated list), in order, with the
    /// excluded names for error messages.
    /// </summary>
    public static (List<string> Included, IReadOnlySet<string> Excluded) ExcludeSplits(IEnumerable<string> splits, ComponentParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var excluded = List(parameters.GetString("exclude_splits")).ToHashSet(StringComparer.Ordinal);
        return (splits.Where(s => !excluded.Contains(s)).ToList(), excluded);
    }

    /// <summary>Splits a comma-separated list parameter (empty entries dropped, whitespace trimmed).</summary>
    public static IReadOnlyList<string> List(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

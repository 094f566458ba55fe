namespace Serverless.Pipelines.Components.FileCopy;

/// <summary>Runs <see cref="FileCopyComponent"/>: a file keeps its name; a folder keeps its tree.</summary>
public sealed class FileCopyExecutor : IComponentExecutor
{
    /// <inheritdoc />
    public async Task ExecuteAsync(
        IReadOnlyDictionary<string, InputArtifact> inputs,
        IReadOnlyDictionary<string, OutputArtifact> outputs,
        ComponentParameters parameters,
        ExecutorContext context,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(context);
        var source = parameters.GetString("source");
        var output = outputs["examples"];
        var files = File.Exists(source)
            ? [(Path.GetFileName(source), source)]
            : Directory.Exists(source)
                ? Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories)
                    .Select(f => (Relative: Path.GetRelativePath(source, f).Replace('\\', '/'), Full: f))
                    .OrderBy(f => f.Relative, StringComparer.Ordinal)
                    .ToList()
                : throw new FileNotFoundException($"Source '{source}' does not exist.", source);

        long bytes = 0;
        foreach (var (relative, full) in files)
        {
            await output.WriteFileAsync(relative, full, cancellation).ConfigureAwait(false);
            bytes += new FileInfo(full).Length;
        }

        var fingerprint = context.PathFingerprints.TryGetValue("source", out var known)
            ? known
            : await Fingerprints.OfLocalPathAsync(source, cancellation).ConfigureAwait(false);
        output.Properties["source_uri"] = source;
        output.Properties["source_fingerprint"] = fingerprint;
        output.Properties["file_count"] = (long)files.Count;
        output.Properties["byte_count"] = bytes;
    }
}

using Serverless.Ml.Data.ExampleGen;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.ExampleGen;

/// <summary>
/// Runs any ExampleGen: reads the input under a scratch folder with <see cref="ExampleGenCore"/> (one streaming pass
/// writes TFRecord and columnar shards per split), then copies the shards into the <c>examples</c> output and records
/// span, version, split names and row counts as artifact properties. Failure semantics: a bad CSV row (unless
/// tolerated), a bad TFRecord frame, an empty input or no matching file throws, so the node fails with the data
/// library's message (file, line, column or byte offset) and publishes nothing.
/// </summary>
public sealed class ExampleGenExecutor : IComponentExecutor
{
    private readonly Func<ComponentParameters, string, ExampleGenOptions> options;

    /// <summary>Creates the executor for one input format.</summary>
    /// <param name="options">Builds the core options from the parameters and the scratch output folder.</param>
    public ExampleGenExecutor(Func<ComponentParameters, string, ExampleGenOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options;
    }

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
        var scratch = ArtifactFiles.NewScratch(context);
        try
        {
            var core = options(parameters, scratch);
            // The core is synchronous CPU and file work; keep it off the caller's thread (a durable worker's loop).
            var result = await Task.Run(() => ExampleGenCore.Run(core, cancellation), cancellation).ConfigureAwait(false);
            var output = outputs["examples"];
            foreach (var file in result.Splits.SelectMany(s => s.TfRecordFiles.Concat(s.ColumnarFiles)))
            {
                await output.WriteFileAsync(Path.GetRelativePath(scratch, file).Replace('\\', '/'), file, cancellation).ConfigureAwait(false);
            }

            if (result.Span is { } span)
            {
                output.Properties[MlProperties.Span] = span;
            }

            if (result.Version is { } version)
            {
                output.Properties[MlProperties.Version] = version;
            }

            output.Properties[MlProperties.SplitNames] = ArtifactFiles.SplitNamesJson(result.Splits.Select(s => s.Name));
            output.Properties[MlProperties.RowCount] = result.TotalRows;
            foreach (var split in result.Splits)
            {
                output.Properties[MlProperties.RowCountPrefix + split.Name] = split.Rows;
            }

            output.Properties[MlProperties.BadRowCount] = result.BadRows;
            output.Properties["input_file_count"] = (long)result.InputFiles.Count;
            output.Properties["format"] = core.Format.ToString().ToUpperInvariant();
        }
        finally
        {
            ArtifactFiles.DeleteScratch(scratch);
        }
    }
}

using Serverless.Ml.Data.Schemas;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.SchemaGen;

/// <summary>Runs <see cref="ImportSchemaGenComponent"/>: loads (and so checks) the file, writes it normalized.</summary>
public sealed class ImportSchemaGenExecutor : IComponentExecutor
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
        var file = parameters.GetString("schema_file");
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"schema file '{file}' does not exist (a folder is not a schema file)", file);
        }

        var schema = DatasetSchema.Load(file);
        var output = outputs["schema"];
        await output.WriteTextAsync(SchemaGenExecutor.SchemaPath, schema.ToJson(), cancellation).ConfigureAwait(false);
        output.Properties["feature_count"] = (long)schema.Feature.Count;
        output.Properties["source_uri"] = file;
    }
}

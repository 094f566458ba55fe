using Serverless.Ml.Components.StatisticsGen;
using Serverless.Ml.Data;
using Serverless.Ml.Data.Schemas;
using Serverless.Ml.Data.Statistics;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.SchemaGen;

/// <summary>Runs <see cref="SchemaGenComponent"/>.</summary>
public sealed class SchemaGenExecutor : IComponentExecutor
{
    /// <summary>The schema file's name inside a Schema artifact.</summary>
    public const string SchemaPath = "schema.json";

    /// <inheritdoc />
    public async Task ExecuteAsync(
        IReadOnlyDictionary<string, InputArtifact> inputs,
        IReadOnlyDictionary<string, OutputArtifact> outputs,
        ComponentParameters parameters,
        ExecutorContext context,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(parameters);
        var statistics = inputs["statistics"];
        var split = parameters.GetString("split");
        var path = StatisticsGenExecutor.StatisticsPath(split);
        if (!statistics.Files.Any(f => f.Path == path))
        {
            var known = ArtifactFiles.SplitNames(statistics.Artifact);
            throw new InvalidDataException($"statistics '{statistics.Artifact.Uri}' have no split '{split}' (splits: {string.Join(", ", known)}); set parameter 'split'");
        }

        var stats = DatasetFeatureStatisticsList.FromJson(await ArtifactFiles.ReadTextAsync(statistics, path, cancellation).ConfigureAwait(false));
        TableSchema? table = null;
        if (parameters.GetBoolean("infer_feature_shape") && statistics.Files.Any(f => f.Path == StatisticsGenExecutor.TableSchemaPath))
        {
            table = TableSchemaJson.Read(await ArtifactFiles.ReadTextAsync(statistics, StatisticsGenExecutor.TableSchemaPath, cancellation).ConfigureAwait(false));
        }

        var schema = SchemaInference.Infer(
            stats.Datasets.Single(),
            new SchemaInferenceOptions
            {
                MaxStringDomainSize = (int)Math.Clamp(parameters.GetInt64("max_string_domain_size"), 0, int.MaxValue),
                InferNumericRanges = parameters.GetBoolean("infer_numeric_ranges"),
            },
            table);
        var output = outputs["schema"];
        await output.WriteTextAsync(SchemaPath, schema.ToJson(), cancellation).ConfigureAwait(false);
        ArtifactFiles.CopySpanAndVersion(statistics.Artifact, output);
        output.Properties["feature_count"] = (long)schema.Feature.Count;
        output.Properties["split"] = split;
    }
}

using Serverless.Metadata;
using Serverless.Ml.Components.SchemaGen;
using Serverless.Ml.Components.StatisticsGen;
using Serverless.Ml.Data.Schemas;
using Serverless.Ml.Data.Statistics;
using Serverless.Ml.Data.Validation;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.ExampleValidator;

/// <summary>Runs <see cref="ExampleValidatorComponent"/>.</summary>
public sealed class ExampleValidatorExecutor : IComponentExecutor
{
    private readonly IMetadataStore? metadata;

    /// <summary>Creates the executor.</summary>
    /// <param name="metadata">For the drift baseline lookup; null disables it.</param>
    public ExampleValidatorExecutor(IMetadataStore? metadata = null) => this.metadata = metadata;

    /// <summary>The anomalies file of a split inside the artifact (TFX's name).</summary>
    public static string AnomaliesPath(string split) => $"Split-{split}/SchemaDiff.json";

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
        ArgumentNullException.ThrowIfNull(context);
        var statistics = inputs["statistics"];
        var schema = DatasetSchema.FromJson(await ArtifactFiles.ReadTextAsync(inputs["schema"], SchemaGenExecutor.SchemaPath, cancellation).ConfigureAwait(false));
        var (splits, _) = ArtifactFiles.ExcludeSplits(ArtifactFiles.SplitNames(statistics.Artifact), parameters);
        if (splits.Count == 0)
        {
            throw new InvalidDataException($"statistics '{statistics.Artifact.Uri}' have no split to validate");
        }

        var output = outputs["anomalies"];
        Baseline? previous = null;
        if (inputs.TryGetValue("previous_statistics", out var bound))
        {
            previous = new Baseline(bound.Artifact.Uri, (split, ct) => ReadSplitAsync(bound, split, ct));
        }
        else if (metadata is not null && parameters.GetBoolean("drift_from_metadata"))
        {
            previous = await FindPreviousSpanAsync(statistics.Artifact, context, cancellation).ConfigureAwait(false);
        }

        inputs.TryGetValue("serving_statistics", out var serving);
        var total = 0L;
        var types = new SortedSet<string>(StringComparer.Ordinal);
        var summary = new List<string>();
        foreach (var split in splits)
        {
            var current = await ReadSplitAsync(statistics, split, cancellation).ConfigureAwait(false)
                ?? throw new InvalidDataException($"statistics '{statistics.Artifact.Uri}' lack split '{split}'");
            var before = previous is null ? null : await previous.Read(split, cancellation).ConfigureAwait(false);
            DatasetFeatureStatistics? servingStats = null;
            if (serving is not null)
            {
                servingStats = await ReadSplitAsync(serving, split, cancellation).ConfigureAwait(false)
                    ?? await ReadSplitAsync(serving, ArtifactFiles.SplitNames(serving.Artifact).FirstOrDefault() ?? split, cancellation).ConfigureAwait(false);
            }

            var anomalies = ExampleValidation.Validate(current, schema, before, servingStats);
            await output.WriteTextAsync(AnomaliesPath(split), anomalies.ToJson(), cancellation).ConfigureAwait(false);
            output.Properties[$"{MlProperties.AnomalyCount}_{split}"] = (long)anomalies.Items.Count;
            total += anomalies.Items.Count;
            foreach (var a in anomalies.Items)
            {
                types.Add(a.Type);
                summary.Add($"{split}: {a.Feature ?? "(dataset)"} {a.Type}: {a.Description}");
            }
        }

        ArtifactFiles.CopySpanAndVersion(statistics.Artifact, output);
        output.Properties[MlProperties.SplitNames] = ArtifactFiles.SplitNamesJson(splits);
        output.Properties[MlProperties.AnomalyCount] = total;
        output.Properties["anomaly_types"] = string.Join(",", types);
        if (previous is not null)
        {
            output.Properties["drift_baseline_uri"] = previous.Uri;
        }

        if (total > 0 && parameters.GetBoolean("fail_on_anomalies"))
        {
            throw new DataAnomaliesException(total, summary);
        }
    }

    private static async Task<DatasetFeatureStatistics?> ReadSplitAsync(InputArtifact artifact, string split, CancellationToken cancellation)
    {
        var path = StatisticsGenExecutor.StatisticsPath(split);
        if (!artifact.Files.Any(f => f.Path == path))
        {
            return null;
        }

        return DatasetFeatureStatisticsList.FromJson(await ArtifactFiles.ReadTextAsync(artifact, path, cancellation).ConfigureAwait(false)).Datasets.SingleOrDefault();
    }

    /// <summary>
    /// The newest LIVE statistics of the highest span below the current one, produced by the same node (the node's
    /// context in the metadata store), whose files are still complete in the blob store. Null when the current
    /// statistics carry no span or no earlier span was recorded.
    /// </summary>
    private async Task<Baseline?> FindPreviousSpanAsync(ArtifactRef current, ExecutorContext context, CancellationToken cancellation)
    {
        if (!current.Properties.TryGetValue(MlProperties.Span, out var spanValue) || spanValue.Type != PropertyType.Int)
        {
            return null;
        }

        var segments = current.Uri.Split('/');
        if (segments.Length < 2)
        {
            return null;
        }

        var producerPrefix = $"{segments[0]}/{segments[1]}/";
        var node = await metadata!.GetContextAsync(ContextTypes.Node, $"{segments[0]}.{segments[1]}", cancellation).ConfigureAwait(false);
        if (node is null)
        {
            return null;
        }

        var candidates = (await metadata.GetArtifactsByContextAsync(node.Id, cancellation).ConfigureAwait(false))
            .Where(a => a.Type == ArtifactTypes.ExampleStatistics && a.State == ArtifactState.Live && a.Uri != current.Uri
                && a.Uri.StartsWith(producerPrefix, StringComparison.Ordinal)
                && a.CustomProperties.TryGetValue(MlProperties.Span, out var s) && s.Type == PropertyType.Int && s.IntValue < spanValue.IntValue)
            .OrderByDescending(a => a.CustomProperties[MlProperties.Span].IntValue)
            .ThenByDescending(a => a.Id);
        foreach (var candidate in candidates)
        {
            if (await context.BlobStore.GetPropertiesAsync($"{candidate.Uri}/{ArtifactLayout.MarkerName}", cancellation).ConfigureAwait(false) is null)
            {
                continue; // deleted or never completed: not a baseline
            }

            var uri = candidate.Uri;
            return new Baseline(uri, async (split, ct) =>
            {
                var path = $"{uri}/{StatisticsGenExecutor.StatisticsPath(split)}";
                if (await context.BlobStore.GetPropertiesAsync(path, ct).ConfigureAwait(false) is null)
                {
                    return null;
                }

                var stream = await context.BlobStore.OpenReadAsync(path, ct).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    using var reader = new StreamReader(stream);
                    return DatasetFeatureStatisticsList.FromJson(await reader.ReadToEndAsync(ct).ConfigureAwait(false)).Datasets.SingleOrDefault();
                }
            });
        }

        return null;
    }

    private sealed record Baseline(string Uri, Func<string, CancellationToken, Task<DatasetFeatureStatistics?>> Read);
}

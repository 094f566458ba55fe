using System.Globalization;
using System.Text.Json;
using Serverless.Ml.Components.SchemaGen;
using Serverless.Ml.Data.Columnar;
using Serverless.Ml.Data.Schemas;
using Serverless.Ml.Transform;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.Transform;

/// <summary>
/// Runs <see cref="TransformComponent"/>. The spec is checked against the Schema artifact and the first train shard's
/// columns before any full pass (a missing feature or a scaler on a string fails the node with every problem named).
/// The analyzers then fan out over the train shards (one mergeable <see cref="TransformAccumulator"/> per shard,
/// bounded by <c>parallelism</c>), merged in shard order so the fitted values do not depend on scheduling. Every shard
/// of every split is then transformed into its own <c>.smlc</c> file.
/// </summary>
public sealed class TransformExecutor : IComponentExecutor
{
    /// <summary>The transformed shard path: <c>Split-{split}/transformed-{index}-of-{count}.smlc</c>.</summary>
    public static string TransformedPath(string split, int index, int count) =>
        string.Create(CultureInfo.InvariantCulture, $"Split-{split}/transformed-{index:D5}-of-{count:D5}{ColumnarFormat.Extension}");

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
        var spec = LoadSpec(parameters);
        var examples = inputs["examples"];
        var schema = DatasetSchema.FromJson(await ArtifactFiles.ReadTextAsync(inputs["schema"], SchemaGenExecutor.SchemaPath, cancellation).ConfigureAwait(false));
        var analyzeSplit = parameters.GetString("analyze_split");
        var splits = ArtifactFiles.SplitNames(examples.Artifact);
        var shards = splits.ToDictionary(s => s, s => ShardsOf(examples, s), StringComparer.Ordinal);
        if (!shards.TryGetValue(analyzeSplit, out var trainShards) || trainShards.Count == 0)
        {
            throw new InvalidDataException($"examples '{examples.Artifact.Uri}' have no columnar shards for split '{analyzeSplit}' (splits: {string.Join(", ", splits)}); set parameter 'analyze_split'");
        }

        var estimator = new TransformEstimator(spec, Limits(parameters));
        var parallelism = parameters.GetInt64("parallelism") is > 0 and var p ? (int)p : Environment.ProcessorCount;
        var scratch = ArtifactFiles.NewScratch(context);
        try
        {
            var local = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var path in shards.Values.SelectMany(s => s))
            {
                local[path] = await ArtifactFiles.DownloadAsync(examples, path, scratch, cancellation).ConfigureAwait(false);
            }

            // Before the full pass: the spec against the curated schema and the data's real column types.
            var dataSchema = new ColumnarReader([local[trainShards[0]]]).Schema;
            var errors = SchemaErrors(spec, schema).ToList();
            var reported = errors.Select(e => e.Feature).ToHashSet(StringComparer.Ordinal);
            errors.AddRange(estimator.Validate(dataSchema).Where(e => !reported.Contains(e.Feature)));
            if (errors.Count > 0)
            {
                throw new TransformSpecException(errors);
            }

            var partials = new TransformAccumulator[trainShards.Count];
            await Parallel.ForEachAsync(
                Enumerable.Range(0, trainShards.Count),
                new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellation },
                (i, ct) =>
                {
                    var reader = new ColumnarReader([local[trainShards[i]]]);
                    var accumulator = estimator.CreateAccumulator(reader.Schema);
                    foreach (var batch in reader.ReadBatches(ct))
                    {
                        accumulator.Add(batch);
                    }

                    partials[i] = accumulator;
                    return ValueTask.CompletedTask;
                }).ConfigureAwait(false);
            var merged = partials[0];
            for (var i = 1; i < partials.Length; i++)
            {
                merged.Merge(partials[i]);
            }

            var fitted = estimator.Finish(merged);
            var graphFolder = Path.Combine(scratch, "transform_graph");
            fitted.Save(graphFolder);
            var graph = outputs["transform_graph"];
            foreach (var file in new[] { FittedTransform.ParametersFileName, FittedTransform.OnnxFileName })
            {
                await graph.WriteFileAsync(file, Path.Combine(graphFolder, file), cancellation).ConfigureAwait(false);
            }

            graph.Properties["width"] = (long)fitted.Width;
            graph.Properties["analyzed_rows"] = merged.Rows;
            graph.Properties["layout"] = JsonSerializer.Serialize(fitted.Layout.Select(c => new { c.Name, c.Offset, c.Width }));
            if (fitted.Label?.Classes is { } classes)
            {
                graph.Properties["label_classes"] = JsonSerializer.Serialize(classes);
            }

            ArtifactFiles.CopySpanAndVersion(examples.Artifact, graph);

            var transformed = outputs["transformed_examples"];
            long total = 0;
            foreach (var split in splits)
            {
                var list = shards[split];
                var rows = new long[list.Count];
                await Parallel.ForEachAsync(
                    Enumerable.Range(0, list.Count),
                    new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellation },
                    (i, ct) =>
                    {
                        var target = Path.Combine(scratch, "out", TransformedPath(split, i, list.Count));
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        rows[i] = fitted.WriteExamples(new ColumnarReader([local[list[i]]]), target, ct);
                        return ValueTask.CompletedTask;
                    }).ConfigureAwait(false);
                for (var i = 0; i < list.Count; i++)
                {
                    var path = TransformedPath(split, i, list.Count);
                    await transformed.WriteFileAsync(path, Path.Combine(scratch, "out", path), cancellation).ConfigureAwait(false);
                }

                transformed.Properties[MlProperties.RowCountPrefix + split] = rows.Sum();
                total += rows.Sum();
            }

            transformed.Properties[MlProperties.SplitNames] = ArtifactFiles.SplitNamesJson(splits);
            transformed.Properties[MlProperties.RowCount] = total;
            transformed.Properties["width"] = (long)fitted.Width;
            transformed.Properties["format"] = "TRANSFORMED_COLUMNAR";
            ArtifactFiles.CopySpanAndVersion(examples.Artifact, transformed);
        }
        finally
        {
            ArtifactFiles.DeleteScratch(scratch);
        }
    }

    /// <summary>The spec from <c>module_file</c> or <c>spec</c> (exactly one), within the <c>max_features</c> bound.</summary>
    /// <exception cref="ArgumentException">Neither or both are given.</exception>
    /// <exception cref="TransformSpecFormatException">The spec cannot be read; names the file (or the parameter), line and column.</exception>
    internal static TransformSpec LoadSpec(ComponentParameters parameters)
    {
        var limits = Limits(parameters);
        var file = parameters.Contains("module_file") ? parameters.GetString("module_file") : null;
        var inline = parameters.GetString("spec");
        if ((file is null) == string.IsNullOrWhiteSpace(inline))
        {
            throw new ArgumentException("give the transform spec either as 'module_file' (a .yaml/.json file) or inline as 'spec', not both or neither");
        }

        if (file is not null)
        {
            return TransformSpec.Load(file, limits);
        }

        const string origin = "parameter 'spec'";
        return inline.TrimStart().StartsWith('{') ? TransformSpec.FromJson(inline, limits, origin) : TransformSpec.FromYaml(inline, limits, origin);
    }

    /// <summary>The spec bounds: the defaults, with <c>max_features</c> from the parameters.</summary>
    internal static TransformSpecLimits Limits(ComponentParameters parameters)
    {
        var max = parameters.GetInt64("max_features");
        if (max is < 1 or > int.MaxValue)
        {
            throw new ArgumentException($"parameter 'max_features' must be between 1 and {int.MaxValue}");
        }

        return new TransformSpecLimits { MaxFeatures = (int)max };
    }

    /// <summary>Spec inputs that the Schema artifact does not know (a cross reads features, not columns).</summary>
    internal static IEnumerable<TransformSpecError> SchemaErrors(TransformSpec spec, DatasetSchema schema)
    {
        var known = string.Join(", ", schema.Feature.Select(f => f.Name));
        foreach (var feature in spec.Features.Where(f => f.Kind != FeatureKind.Cross && schema.Find(f.Column) is null))
        {
            yield return new TransformSpecError(feature.Name, JsonNamingPolicy.SnakeCaseLower.ConvertName(feature.Kind.ToString()), $"input column '{feature.Column}' is not in the schema (features: {known})");
        }

        if (spec.Label is { } label && schema.Find(label.Input) is null)
        {
            yield return new TransformSpecError(label.Input, "label", $"label column '{label.Input}' is not in the schema (features: {known})");
        }
    }

    private static List<string> ShardsOf(InputArtifact examples, string split) =>
        examples.Files.Select(f => f.Path)
            .Where(p => p.StartsWith($"Split-{split}/", StringComparison.Ordinal) && p.EndsWith(ColumnarFormat.Extension, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
}

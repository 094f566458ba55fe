using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Metadata;
using Serverless.Ml.Data;
using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Pipelines;
using Serverless.Serving;

namespace Serverless.Ml.Components.Evaluator;

/// <summary>
/// Runs <see cref="EvaluatorComponent"/>. The model is loaded with the serving runtime's loader
/// (<see cref="ModelLoader"/>: same session options, same class labels), fed the eval split batch by batch, and every
/// metric is computed from the collected predictions. "Not blessed" is a result (written to the blessing artifact), not an
/// error: the node succeeds and the Pusher decides.
/// </summary>
public sealed class EvaluatorExecutor : IComponentExecutor
{
    /// <summary>The JSON options of metrics.json (NaN written as "NaN").</summary>
    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly IMetadataStore? metadata;

    /// <summary>Creates the executor.</summary>
    /// <param name="metadata">For the baseline lookup; null: only an explicitly bound baseline.</param>
    public EvaluatorExecutor(IMetadataStore? metadata = null) => this.metadata = metadata;

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
        var thresholds = MetricValidator.Parse(parameters.GetString("metric_thresholds"));
        var minSlice = parameters.GetInt64("min_slice_size");
        ArgumentOutOfRangeException.ThrowIfNegative(minSlice);
        var settings = new EvalSettings(
            parameters.GetString("label_key"),
            parameters.GetString("task").ToLowerInvariant(),
            parameters.GetString("prediction_key"),
            ParseSlicingSpecs(parameters.GetString("slicing_specs")),
            (int)minSlice,
            (int)Math.Clamp(parameters.GetInt64("calibration_buckets"), 2, 100));
        if (settings.Task is not ("auto" or "classification" or "regression"))
        {
            throw new ArgumentException($"task must be auto, classification or regression (got '{settings.Task}')");
        }

        var model = inputs["model"];
        var scratch = ArtifactFiles.NewScratch(context);
        try
        {
            var examples = await EvalExamples.LoadAsync(inputs["examples"], parameters.GetString("eval_split"), scratch, cancellation).ConfigureAwait(false);
            var candidateBytes = await ModelFile.ReadAsync(model, cancellation).ConfigureAwait(false);
            var candidate = Evaluate(candidateBytes, examples, settings, withSlices: true);

            BaselineModel? baseline = null;
            if (inputs.TryGetValue("baseline_model", out var boundBaseline))
            {
                baseline = new BaselineModel(boundBaseline.Artifact.Uri, boundBaseline.Artifact.Id, null, await ModelFile.ReadAsync(boundBaseline, cancellation).ConfigureAwait(false));
            }
            else if (metadata is not null && parameters.GetBoolean("baseline_from_metadata"))
            {
                baseline = await BaselineResolver.FindLatestBlessedAsync(metadata, context.BlobStore, context.PipelineName, cancellation).ConfigureAwait(false);
            }

            EvaluationResult? baselineResult = null;
            var notes = new List<string>();
            if (baseline is not null)
            {
                try
                {
                    baselineResult = Evaluate(baseline.Bytes, examples, settings, withSlices: false);
                }
                catch (Exception e) when (e is InvalidDataException or OnnxRuntimeException)
                {
                    // A baseline that no longer fits the data (e.g. new columns) cannot gate: say so, do not fail the node.
                    notes.Add($"baseline '{baseline.Uri}' could not be evaluated on these examples ({e.Message}): change thresholds skipped");
                    baseline = null;
                }
            }

            var blessing = MetricValidator.Validate(thresholds, candidate.Overall.Metrics, baselineResult?.Overall.Metrics);
            blessing = blessing with { Notes = [.. notes, .. blessing.Notes] };

            var document = new EvaluationDocument(
                model.Artifact.Uri, baseline?.Uri, candidate.Task, settings.LabelKey, candidate.Classes, settings.MinSliceSize,
                settings.SlicingSpecs.Select(s => string.Join(",", s)).ToList(), candidate.Overall, candidate.Slices,
                baselineResult?.Overall.Metrics, blessing);
            var evaluation = outputs["evaluation"];
            await evaluation.WriteTextAsync("metrics.json", JsonSerializer.Serialize(document, Json), cancellation).ConfigureAwait(false);
            await evaluation.WriteTextAsync("report.html", EvaluationReport.Render(document), cancellation).ConfigureAwait(false);
            foreach (var (name, value) in candidate.Overall.Metrics.Where(p => !p.Key.Contains('/', StringComparison.Ordinal) && double.IsFinite(p.Value)))
            {
                evaluation.Properties[name] = MetadataValue.FromDouble(value);
            }

            evaluation.Properties[ShippingProperties.CurrentModel] = MetadataValue.FromString(model.Artifact.Uri);
            evaluation.Properties["slice_count"] = MetadataValue.FromInt(candidate.Slices.Count);

            var output = outputs["blessing"];
            await output.WriteTextAsync("blessing.json", JsonSerializer.Serialize(blessing, Json), cancellation).ConfigureAwait(false);
            await output.WriteTextAsync(blessing.Blessed ? "BLESSED" : "NOT_BLESSED", string.Join("\n", blessing.Failures.Select(f => f.Message).Concat(blessing.Notes)), cancellation).ConfigureAwait(false);
            output.Properties[ShippingProperties.Blessed] = MetadataValue.FromInt(blessing.Blessed ? 1 : 0);
            output.Properties[ShippingProperties.CurrentModel] = MetadataValue.FromString(model.Artifact.Uri);
            output.Properties[ShippingProperties.CurrentModelId] = MetadataValue.FromInt(model.Artifact.Id);
            output.Properties["blessing_attempted"] = MetadataValue.FromInt(blessing.Attempted ? 1 : 0);
            output.Properties["failed_checks"] = MetadataValue.FromString(string.Join("; ", blessing.Failures.Select(f => f.Message)));
            if (baseline is not null)
            {
                output.Properties[ShippingProperties.BaselineModel] = MetadataValue.FromString(baseline.Uri);
                output.Properties[ShippingProperties.BaselineModelId] = MetadataValue.FromInt(baseline.Id);
            }
        }
        finally
        {
            ArtifactFiles.DeleteScratch(scratch);
        }
    }

    /// <summary>Parses <c>island;sex;island,sex</c> into feature lists.</summary>
    internal static IReadOnlyList<IReadOnlyList<string>> ParseSlicingSpecs(string text) =>
        text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => (IReadOnlyList<string>)ArtifactFiles.List(s))
            .Where(s => s.Count > 0)
            .ToList();

    /// <summary>Scores every example with the model and computes overall (and optionally per slice) metrics.</summary>
    internal static EvaluationResult Evaluate(byte[] modelBytes, EvalExamples examples, EvalSettings settings, bool withSlices)
    {
        using var loaded = ModelLoader.Load(modelBytes);
        var session = loaded.Session;
        var output = PickOutput(session.Outputs, settings.PredictionKey);
        var width = -1;
        var scores = new List<float>();
        var labelColumn = new List<object?>();
        var sliceValues = settings.SlicingSpecs.SelectMany(s => s).Distinct(StringComparer.Ordinal).ToDictionary(f => f, _ => new List<string>(), StringComparer.Ordinal);
        foreach (var batch in examples.Batches)
        {
            if (batch.RowCount == 0)
            {
                continue;
            }

            if (batch.Schema.IndexOf(settings.LabelKey) < 0)
            {
                throw new InvalidDataException($"label_key '{settings.LabelKey}' is not a column of the examples (columns: {batch.Schema})");
            }

            var tensor = session.Run(EvalExamples.ToInputs(batch, session.Inputs), [output.Name]).Get(output.Name);
            var values = tensor.ElementType switch
            {
                OnnxElementType.Float => tensor.GetData<float>(),
                OnnxElementType.Double => tensor.GetData<double>().Select(v => (float)v).ToArray(),
                _ => throw new InvalidDataException($"output '{output.Name}' is {tensor.ElementType}; the Evaluator reads float outputs"),
            };
            var perRow = values.Length / batch.RowCount;
            if (perRow * batch.RowCount != values.Length || (width >= 0 && perRow != width))
            {
                throw new InvalidDataException($"output '{output.Name}' has {values.Length} values for {batch.RowCount} rows");
            }

            width = perRow;
            scores.AddRange(values);
            var label = batch[settings.LabelKey];
            for (var i = 0; i < batch.RowCount; i++)
            {
                labelColumn.Add(label.GetValue(i));
            }

            foreach (var (feature, list) in sliceValues)
            {
                if (batch.Schema.IndexOf(feature) < 0)
                {
                    throw new InvalidDataException($"slicing feature '{feature}' is not a column of the examples (columns: {batch.Schema})");
                }

                var column = batch[feature];
                for (var i = 0; i < batch.RowCount; i++)
                {
                    list.Add(EvalExamples.SliceValue(column, i));
                }
            }
        }

        var textLabel = labelColumn.Any(l => l is string);
        var classification = settings.Task switch
        {
            "classification" => true,
            "regression" => false,
            _ => textLabel || loaded.Signature.ClassLabels.Count > 0 || width > 1,
        };

        // Rows without a label cannot be scored; they are left out of every metric.
        var keep = Enumerable.Range(0, labelColumn.Count).Where(i => labelColumn[i] is not null).ToArray();
        var slices = new List<SliceMetrics>();
        if (classification)
        {
            var classes = loaded.Signature.ClassLabels.Count > 0
                ? loaded.Signature.ClassLabels
                : Enumerable.Range(0, Math.Max(width, 1)).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            if (classes.Count != width)
            {
                throw new InvalidDataException($"output '{output.Name}' has {width} values per row but the model names {classes.Count} classes");
            }

            var index = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
            var labels = keep.Select(i => index.TryGetValue(Convert.ToString(labelColumn[i], System.Globalization.CultureInfo.InvariantCulture)!, out var c) ? c : -1).ToArray();
            var probabilities = keep.SelectMany(i => scores.Skip(i * width).Take(width)).ToArray();
            SliceMetrics Compute(string name, int[] rows, bool curves) =>
                EvaluationMetrics.Classification(name, rows.Select(r => labels[r]).ToArray(), rows.SelectMany(r => probabilities.AsSpan(r * width, width).ToArray()).ToArray(), classes, settings.CalibrationBuckets, curves);
            var overall = EvaluationMetrics.Classification("Overall", labels, probabilities, classes, settings.CalibrationBuckets, withCurves: true);
            if (withSlices)
            {
                slices = ComputeSlices(settings, keep, sliceValues, (name, rows) => Compute(name, rows, false));
            }

            return new EvaluationResult("classification", classes, overall, slices);
        }
        else
        {
            if (width != 1)
            {
                throw new InvalidDataException($"regression needs one output value per row; output '{output.Name}' has {width}");
            }

            var labels = keep.Select(i => Convert.ToDouble(labelColumn[i], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            var predictions = keep.Select(i => (double)scores[i]).ToArray();
            var overall = EvaluationMetrics.Regression("Overall", labels, predictions);
            if (withSlices)
            {
                slices = ComputeSlices(settings, keep, sliceValues, (name, rows) =>
                    EvaluationMetrics.Regression(name, rows.Select(r => labels[r]).ToArray(), rows.Select(r => predictions[r]).ToArray()));
            }

            return new EvaluationResult("regression", [], overall, slices);
        }
    }

    private static List<SliceMetrics> ComputeSlices(
        EvalSettings settings, int[] keep, Dictionary<string, List<string>> values, Func<string, int[], SliceMetrics> compute)
    {
        var result = new List<SliceMetrics>();
        foreach (var spec in settings.SlicingSpecs)
        {
            // keep[j] is the original row; slice membership uses the original row, metrics the kept index j.
            var groups = Enumerable.Range(0, keep.Length)
                .GroupBy(j => string.Join(",", spec.Select(f => $"{f}={values[f][keep[j]]}")), StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal);
            foreach (var group in groups)
            {
                var rows = group.ToArray();
                result.Add(rows.Length < settings.MinSliceSize
                    ? new SliceMetrics { Slice = group.Key, ExampleCount = rows.Length, BelowMinimumSize = true }
                    : compute(group.Key, rows));
            }
        }

        return result;
    }

    private static NodeMetadata PickOutput(IReadOnlyList<NodeMetadata> outputs, string key)
    {
        if (key.Length > 0)
        {
            return outputs.FirstOrDefault(o => o.Name == key)
                ?? throw new InvalidDataException($"prediction_key '{key}' is not an output of the model (outputs: {string.Join(", ", outputs.Select(o => o.Name))})");
        }

        return outputs.FirstOrDefault(o => o.Name is "probabilities" or "predictions")
            ?? outputs.FirstOrDefault(o => o.ElementType is OnnxElementType.Float or OnnxElementType.Double)
            ?? throw new InvalidDataException("the model has no float output to evaluate");
    }
}

/// <summary>Evaluator settings resolved from the parameters.</summary>
internal sealed record EvalSettings(string LabelKey, string Task, string PredictionKey, IReadOnlyList<IReadOnlyList<string>> SlicingSpecs, int MinSliceSize, int CalibrationBuckets);

/// <summary>A model's metrics on one example set.</summary>
internal sealed record EvaluationResult(string Task, IReadOnlyList<string> Classes, SliceMetrics Overall, IReadOnlyList<SliceMetrics> Slices);

/// <summary>The content of metrics.json, and what the HTML report shows.</summary>
/// <param name="Model">URI of the evaluated model.</param>
/// <param name="BaselineModel">URI of the baseline, or null.</param>
/// <param name="Task">classification or regression.</param>
/// <param name="LabelKey">The label column.</param>
/// <param name="Classes">Class names (classification).</param>
/// <param name="MinSliceSize">The minimum slice size.</param>
/// <param name="SlicingSpecs">The slicing specs, features joined by ','.</param>
/// <param name="Overall">Metrics over all examples.</param>
/// <param name="Slices">Metrics per slice.</param>
/// <param name="BaselineMetrics">The baseline's overall metrics on the same examples, or null.</param>
/// <param name="Blessing">The validation outcome.</param>
public sealed record EvaluationDocument(
    string Model, string? BaselineModel, string Task, string LabelKey, IReadOnlyList<string> Classes, int MinSliceSize,
    IReadOnlyList<string> SlicingSpecs, SliceMetrics Overall, IReadOnlyList<SliceMetrics> Slices,
    IReadOnlyDictionary<string, double>? BaselineMetrics, BlessingResult Blessing);

/// <summary>Finds a Model artifact's ONNX file: <c>model.onnx</c>, else the only <c>*.onnx</c> file.</summary>
public static class ModelFile
{
    /// <summary>The path of the ONNX file within the artifact.</summary>
    /// <exception cref="InvalidDataException">The artifact has no (or several, none named model.onnx) ONNX files.</exception>
    public static string Find(InputArtifact model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Files.Any(f => f.Path == ModelRepository.ModelFileName))
        {
            return ModelRepository.ModelFileName;
        }

        var onnx = model.Files.Where(f => f.Path.EndsWith(".onnx", StringComparison.Ordinal)).ToList();
        return onnx.Count == 1
            ? onnx[0].Path
            : throw new InvalidDataException($"model '{model.Artifact.Uri}' has {onnx.Count} .onnx files and none named {ModelRepository.ModelFileName}");
    }

    /// <summary>Reads the model's ONNX bytes.</summary>
    public static async Task<byte[]> ReadAsync(InputArtifact model, CancellationToken cancellation = default)
    {
        var stream = await model.OpenReadAsync(Find(model), cancellation).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellation).ConfigureAwait(false);
            return buffer.ToArray();
        }
    }
}

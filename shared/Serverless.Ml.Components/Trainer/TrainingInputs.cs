using Serverless.Ml.Data.Columnar;
using Serverless.Ml.Training.Models;
using Serverless.Ml.Training.Training;
using Serverless.Ml.Transform;

namespace Serverless.Ml.Components.Trainer;

/// <summary>Opens one file of an artifact (an <see cref="Pipelines.InputArtifact"/>, or a blob URI prefix in a trial activity).</summary>
internal delegate Task<Stream> ArtifactOpener(string path, CancellationToken cancellation);

/// <summary>What the model predicts, from the fitted transform's label.</summary>
/// <param name="Task">Classification or regression.</param>
/// <param name="Classes">Class names in index order (classification); empty for regression.</param>
internal sealed record LabelInfo(PredictionTask Task, IReadOnlyList<string> Classes)
{
    public int Outputs => Task == PredictionTask.Classification ? Classes.Count : 1;

    public static LabelInfo Of(FittedTransform transform)
    {
        var label = transform.Label ?? throw new InvalidDataException("the transform graph has no label: add 'label: { input: <column> }' to the transform spec");
        if (label.Spec.Kind == LabelKind.Regression)
        {
            return new LabelInfo(PredictionTask.Regression, []);
        }

        var classes = label.Classes ?? label.IntClasses?.Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray() ?? [];
        if (classes.Length < 2)
        {
            throw new InvalidDataException($"the label '{label.Spec.Input}' has {classes.Length} class(es) in the train split; a classifier needs at least 2");
        }

        return new LabelInfo(PredictionTask.Classification, classes);
    }
}

/// <summary>Loads transformed examples and the transform graph for training (the Trainer and every Tuner trial).</summary>
internal static class TrainingInputs
{
    /// <summary>Transformed example shards of a split, sorted.</summary>
    public static IReadOnlyList<string> ShardsOf(IEnumerable<string> paths, string split) =>
        paths.Where(p => p.StartsWith($"Split-{split}/", StringComparison.Ordinal) && p.EndsWith(ColumnarFormat.Extension, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();

    /// <summary>Reads the fitted transform (<c>transform_fn.json</c>) of a TransformGraph artifact.</summary>
    public static async Task<FittedTransform> ReadTransformAsync(ArtifactOpener graph, CancellationToken cancellation)
    {
        var stream = await graph(FittedTransform.ParametersFileName, cancellation).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream);
            return FittedTransform.FromJson(await reader.ReadToEndAsync(cancellation).ConfigureAwait(false));
        }
    }

    /// <summary>
    /// Copies a split's shards to <paramref name="scratch"/> and reads them as training rows; rows whose label is
    /// missing (or an unseen class) are left out. Null when the split has no shard.
    /// </summary>
    public static async Task<TrainingData?> ReadSplitAsync(ArtifactOpener examples, IReadOnlyList<string> shards, LabelInfo label, string scratch, CancellationToken cancellation)
    {
        if (shards.Count == 0)
        {
            return null;
        }

        var locals = new List<string>();
        foreach (var shard in shards)
        {
            var local = Path.Combine(scratch, Guid.NewGuid().ToString("N") + ColumnarFormat.Extension);
            var source = await examples(shard, cancellation).ConfigureAwait(false);
            await using (source.ConfigureAwait(false))
            {
                var target = File.Create(local);
                await using (target.ConfigureAwait(false))
                {
                    await source.CopyToAsync(target, cancellation).ConfigureAwait(false);
                }
            }

            locals.Add(local);
        }

        var batch = TransformedExamples.ReadAll(locals, cancellation);
        var labels = batch.Labels ?? throw new InvalidDataException("the transformed examples have no 'label' column: the transform spec needs a label");
        var keep = Enumerable.Range(0, batch.Rows).Where(r => label.Task == PredictionTask.Classification ? labels[r] >= 0 : !float.IsNaN(labels[r])).ToList();
        if (keep.Count == 0)
        {
            throw new InvalidDataException("every row of the split has a missing label");
        }

        var features = new float[keep.Count * batch.Width];
        var targets = new float[keep.Count];
        for (var i = 0; i < keep.Count; i++)
        {
            batch.Features.AsSpan(keep[i] * batch.Width, batch.Width).CopyTo(features.AsSpan(i * batch.Width));
            targets[i] = labels[keep[i]];
        }

        return new TrainingData(features, targets, keep.Count);
    }
}

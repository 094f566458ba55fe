using System.Text.Json;
using Serverless.Ml.Data;

namespace Serverless.Ml.Transform;

/// <summary>
/// The estimator half of the estimator/transformer split (ML.NET's IEstimator): validates a spec against a schema,
/// runs the analyzers in one streaming pass (or per shard, merged) and freezes the result into a
/// <see cref="FittedTransform"/>.
/// </summary>
/// <remarks>
/// Fan-out: each shard's activity calls <see cref="CreateAccumulator"/>, <see cref="TransformAccumulator.Add"/> for
/// its batches and ships <see cref="TransformAccumulator.ToJson"/>; the fan-in merges them with
/// <see cref="TransformAccumulator.Merge"/> and calls <see cref="Finish"/>. Counts, min/max, vocabularies and (up to
/// 4,096 values per feature) quantiles merge exactly; mean/variance merge up to floating-point rounding.
/// </remarks>
public sealed class TransformEstimator
{
    /// <summary>Creates an estimator for a spec, within <paramref name="limits"/> (default <see cref="TransformSpecLimits.Default"/>).</summary>
    public TransformEstimator(TransformSpec spec, TransformSpecLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Spec = spec;
        Limits = limits ?? TransformSpecLimits.Default;
    }

    /// <summary>The spec.</summary>
    public TransformSpec Spec { get; }

    /// <summary>The bounds the spec is checked against (feature count) before any analyzer state is made.</summary>
    public TransformSpecLimits Limits { get; }

    /// <summary>Problems of the spec against <paramref name="schema"/>, without reading data.</summary>
    public IReadOnlyList<TransformSpecError> Validate(TableSchema schema) => TransformSpecValidator.Validate(Spec, schema, Limits);

    /// <summary>An empty analyzer state for data of <paramref name="schema"/>; throws <see cref="TransformSpecException"/> for a bad spec.</summary>
    public TransformAccumulator CreateAccumulator(TableSchema schema)
    {
        TransformSpecValidator.ThrowIfInvalid(Spec, schema, Limits);
        return new TransformAccumulator(Spec, schema);
    }

    /// <summary>Restores an analyzer state shipped by <see cref="TransformAccumulator.ToJson"/>.</summary>
    public TransformAccumulator AccumulatorFromJson(string json, TableSchema schema)
    {
        ArgumentNullException.ThrowIfNull(json);
        var acc = CreateAccumulator(schema);
        var states = JsonSerializer.Deserialize<AccumulatorState>(json, TransformSpec.JsonOptions) ?? throw new InvalidDataException("the analyzer state is empty");
        if (states.Features.Length != acc.Features.Length) throw new InvalidDataException("the analyzer state belongs to another spec");
        for (var i = 0; i < states.Features.Length; i++) acc.Features[i] = FeatureAccumulator.FromState(states.Features[i]);
        if (states.Label is not null) acc.Label = FeatureAccumulator.FromState(states.Label);
        acc.Rows = states.Rows;
        return acc;
    }

    /// <summary>Validates, then runs every analyzer in one pass over <paramref name="reader"/> and freezes the result.</summary>
    public FittedTransform Fit(IRecordBatchReader reader, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return Fit(reader.Schema, reader.ReadBatches(cancellation), cancellation);
    }

    /// <summary>Validates against <paramref name="schema"/> (before the first batch is read), runs the analyzers over <paramref name="batches"/> and freezes the result.</summary>
    public FittedTransform Fit(TableSchema schema, IEnumerable<RecordBatch> batches, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var acc = CreateAccumulator(schema);
        foreach (var batch in batches)
        {
            cancellation.ThrowIfCancellationRequested();
            acc.Add(batch);
        }
        return Finish(acc);
    }

    /// <summary>Freezes a (merged) analyzer state into a fitted transform.</summary>
    public FittedTransform Finish(TransformAccumulator accumulator)
    {
        ArgumentNullException.ThrowIfNull(accumulator);
        return TransformFinisher.Finish(Spec, accumulator);
    }

    internal sealed record AccumulatorState(long Rows, FeatureAccumulatorState[] Features, FeatureAccumulatorState? Label);
}

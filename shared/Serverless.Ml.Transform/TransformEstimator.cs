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

/// <summary>
/// Mergeable analyzer state of a whole spec: per feature counts, moments, min/max, KLL sketches and token counts.
/// Not thread-safe; use one per shard and <see cref="Merge"/> them.
/// </summary>
public sealed class TransformAccumulator
{
    private readonly FeaturePlan[] _plans;
    private readonly FeaturePlan? _labelPlan;
    private TableSchema? _lastSchema;
    private int[] _columnIndex = [];

    internal TransformAccumulator(TransformSpec spec, TableSchema schema)
    {
        Schema = schema;
        _plans = spec.Features.Select(f => FeaturePlan.Create(f, schema)).ToArray();
        Features = _plans.Select(FeatureAccumulator.For).ToArray();
        if (spec.Label is { } label)
        {
            var kind = schema.Columns[schema.IndexOf(label.Input)].Kind;
            // The label's classes are a vocabulary of the label column, without OOV and without fill.
            var labelFeature = new FeatureSpec { Name = label.Input, Kind = label.Kind == LabelKind.Classification ? FeatureKind.Vocabulary : FeatureKind.Passthrough };
            _labelPlan = new FeaturePlan(labelFeature, kind, FillStrategy.None);
            Label = label.Kind == LabelKind.Classification ? FeatureAccumulator.For(_labelPlan) : new FeatureAccumulator();
        }
    }

    /// <summary>The schema of the data the state was built for.</summary>
    public TableSchema Schema { get; }

    /// <summary>Rows seen.</summary>
    public long Rows { get; internal set; }

    internal FeatureAccumulator[] Features { get; }

    internal FeatureAccumulator? Label { get; set; }

    internal IReadOnlyList<FeaturePlan> Plans => _plans;

    /// <summary>Feeds one batch to every analyzer.</summary>
    public void Add(RecordBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!ReferenceEquals(batch.Schema, _lastSchema))
        {
            _columnIndex = _plans.Select(p => p.Spec.Kind == FeatureKind.Cross ? -1 : IndexOf(batch.Schema, p.Spec.Column)).ToArray();
            _lastSchema = batch.Schema;
        }
        for (var i = 0; i < _plans.Length; i++)
        {
            if (_columnIndex[i] < 0) continue;
            Features[i].Add(_plans[i], batch.Columns[_columnIndex[i]]);
        }
        if (_labelPlan is not null && Label is { } label && (label.Strings is not null || label.Ints is not null))
            label.Add(_labelPlan, batch[_labelPlan.Spec.Name]);
        Rows += batch.RowCount;
    }

    /// <summary>Folds another shard's state in (same spec and schema); the other state is unchanged.</summary>
    public void Merge(TransformAccumulator other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Features.Length != Features.Length) throw new ArgumentException("the states belong to different specs", nameof(other));
        for (var i = 0; i < Features.Length; i++) Features[i].Merge(other.Features[i]);
        if (Label is not null && other.Label is not null) Label.Merge(other.Label);
        Rows += other.Rows;
    }

    /// <summary>The state as JSON, to ship between activities (restore with <see cref="TransformEstimator.AccumulatorFromJson"/>).</summary>
    public string ToJson() => JsonSerializer.Serialize(
        new TransformEstimator.AccumulatorState(Rows, Features.Select(f => f.ToState()).ToArray(), Label?.ToState()), TransformSpec.JsonOptions);

    private static int IndexOf(TableSchema schema, string column)
    {
        var i = schema.IndexOf(column);
        if (i < 0) throw new ArgumentException($"the batch has no column '{column}'", nameof(schema));
        return i;
    }
}

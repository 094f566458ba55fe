using System.Text.Json;
using Serverless.Ml.Data;

namespace Serverless.Ml.Transform;

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

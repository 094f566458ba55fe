namespace Serverless.Ml.Data.Statistics;

/// <summary>
/// The second pass that makes standard (equal-width) histograms exact. Their edges come from the exact min and max,
/// which are only known once every value has been seen, and beyond 4,096 values per feature the quantile sketch no
/// longer holds every value; so the values are counted again, against the final edges, in a second read of the same
/// data (<see cref="StatisticsBuilder.CreateHistogramPass"/>, <see cref="Add"/> for every batch, then
/// <see cref="StatisticsBuilder.CompleteHistogramPass"/>). Counting is exact integer arithmetic, so passes over
/// shards <see cref="Merge"/> in any order. Memory: one array of bucket counts per numeric feature.
/// Not thread-safe: create one pass per shard or thread (each call of CreateHistogramPass gives a fresh one).
/// </summary>
public sealed class HistogramPass
{
    private readonly Dictionary<string, (FeatureType Type, EqualWidthCounts Counts)> _features;
    private TableSchema? _lastSchema;
    private (int Column, EqualWidthCounts Counts)[] _plan = [];
    private double[] _scratch = [];

    internal HistogramPass(Dictionary<string, (FeatureType Type, EqualWidthCounts Counts)> features)
    {
        _features = features;
    }

    /// <summary>The features counted (numeric features whose histogram the first pass could not count exactly).</summary>
    public IReadOnlyCollection<string> Features => _features.Keys;

    internal IEnumerable<(string Name, EqualWidthCounts Counts)> Counts => _features.Select(kv => (kv.Key, kv.Value.Counts));

    /// <summary>Counts the values of one batch. Columns of another type than the first pass saw are ignored, as there.</summary>
    public void Add(RecordBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!ReferenceEquals(batch.Schema, _lastSchema))
        {
            var plan = new List<(int, EqualWidthCounts)>();
            for (var c = 0; c < batch.Schema.Columns.Count; c++)
            {
                var spec = batch.Schema.Columns[c];
                if (_features.TryGetValue(spec.Name, out var f) && StatisticsBuilder.TypeOf(spec.Kind) == f.Type) plan.Add((c, f.Counts));
            }
            _plan = [.. plan];
            _lastSchema = batch.Schema;
        }
        foreach (var (c, counts) in _plan) counts.Add(FeatureAccumulator.ValidValues(batch.Columns[c], ref _scratch, out _));
    }

    /// <summary>Adds the counts of a pass over other data (another shard) created by the same builder.</summary>
    /// <exception cref="ArgumentException">The passes have different features or edges.</exception>
    public void Merge(HistogramPass other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other._features.Count != _features.Count) throw new ArgumentException("the passes belong to different statistics", nameof(other));
        foreach (var (name, (_, counts)) in _features)
        {
            if (!other._features.TryGetValue(name, out var o) || !o.Counts.SameEdges(counts))
                throw new ArgumentException($"feature '{name}': the passes have different histogram edges", nameof(other));
            counts.Merge(o.Counts);
        }
    }
}

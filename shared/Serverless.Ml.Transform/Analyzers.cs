using System.Buffers;
using System.Runtime.InteropServices;
using Serverless.Ml.Data;
using Serverless.Ml.Data.Sketches;

namespace Serverless.Ml.Transform;

/// <summary>
/// Running statistics of present numeric values: count, mean and M2 (Chan-Golub-LeVeque merge), min/max, and on
/// request a KLL sketch (median, quantile boundaries) and exact value counts (mode). Mergeable in any order.
/// </summary>
internal sealed class NumericStats
{
    public NumericStats(bool sketch, bool counts)
    {
        if (sketch) Sketch = new KllSketch();
        if (counts) Counts = [];
    }

    public long Count { get; private set; }
    public double Mean { get; private set; }
    public double M2 { get; private set; }
    public double Min { get; private set; } = double.PositiveInfinity;
    public double Max { get; private set; } = double.NegativeInfinity;
    public KllSketch? Sketch { get; private set; }
    public Dictionary<double, long>? Counts { get; private set; }

    /// <summary>Adds present, non-NaN values.</summary>
    public void AddRange(ReadOnlySpan<double> values)
    {
        if (values.IsEmpty) return;
        double sum = 0, min = Min, max = Max;
        foreach (var v in values)
        {
            sum += v;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        var mean = sum / values.Length;
        double m2 = 0;
        foreach (var v in values) m2 += (v - mean) * (v - mean);
        Combine(values.Length, mean, m2);
        Min = min;
        Max = max;
        Sketch?.AddRange(values);
        if (Counts is { } counts)
            foreach (var v in values) CollectionsMarshal.GetValueRefOrAddDefault(counts, v, out _)++;
    }

    public void Merge(NumericStats other)
    {
        Combine(other.Count, other.Mean, other.M2);
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
        if (Sketch is not null && other.Sketch is not null) Sketch.Merge(other.Sketch);
        if (Counts is not null && other.Counts is not null)
            foreach (var (k, v) in other.Counts) CollectionsMarshal.GetValueRefOrAddDefault(Counts, k, out _) += v;
    }

    private void Combine(long n, double mean, double m2)
    {
        if (n == 0) return;
        if (Count == 0)
        {
            Count = n;
            Mean = mean;
            M2 = m2;
            return;
        }
        var total = Count + n;
        var delta = mean - Mean;
        Mean += delta * n / total;
        M2 += m2 + delta * delta * ((double)Count * n / total);
        Count = total;
    }

    public NumericStatsState ToState() =>
        new(Count, Mean, M2, Min, Max, Sketch?.ToState(), Counts?.Select(kv => new[] { kv.Key, kv.Value }).ToArray());

    public static NumericStats FromState(NumericStatsState s)
    {
        var n = new NumericStats(false, false)
        {
            Count = s.Count,
            Mean = s.Mean,
            M2 = s.M2,
            Min = s.Min,
            Max = s.Max,
            Sketch = s.Sketch is null ? null : KllSketch.FromState(s.Sketch),
            Counts = s.Counts?.ToDictionary(p => p[0], p => (long)p[1]),
        };
        return n;
    }
}

/// <summary>Serializable <see cref="NumericStats"/> (value counts as [value, count] pairs: JSON keys cannot be doubles).</summary>
internal sealed record NumericStatsState(long Count, double Mean, double M2, double Min, double Max, KllState? Sketch, double[][]? Counts);

/// <summary>What a feature's analyzers need to see; derived from the spec and the column kind.</summary>
internal sealed record FeaturePlan(FeatureSpec Spec, ColumnKind ColumnKind, FillStrategy Fill)
{
    public bool IsNumeric => Spec.Kind is FeatureKind.Passthrough or FeatureKind.ZScore or FeatureKind.MinMax or FeatureKind.Bucketize;
    public bool HasPostSteps => Spec.Clip is not null || Spec.Log1p;
    public bool IsCategorical => Spec.Kind is FeatureKind.Vocabulary or FeatureKind.Hash;

    /// <summary>Raw values feed the fill (mean, median, mode) and, without clip/log1p, the scaler too.</summary>
    public bool RawSketch => Fill == FillStrategy.Median || (!HasPostSteps && Spec.Kind == FeatureKind.Bucketize);
    public bool RawCounts => Fill == FillStrategy.Mode;
    public bool NeedsPost => IsNumeric && HasPostSteps && Spec.Kind != FeatureKind.Passthrough;
    public bool NeedsStringCounts => IsCategorical && ColumnKind == ColumnKind.String;
    public bool NeedsIntCounts => IsCategorical && ColumnKind == ColumnKind.Int64 && (Spec.Kind == FeatureKind.Vocabulary || Fill == FillStrategy.Mode);

    /// <summary>The deterministic steps after the fill: clip, then log1p.</summary>
    public double Post(double x) => FeatureMath.Post(x, Spec.Clip, Spec.Log1p);

    public static FeaturePlan Create(FeatureSpec spec, TableSchema schema)
    {
        var kind = spec.Kind == FeatureKind.Cross ? ColumnKind.Int64 : schema.Columns[schema.IndexOf(spec.Column)].Kind;
        var numeric = spec.Kind is FeatureKind.Passthrough or FeatureKind.ZScore or FeatureKind.MinMax or FeatureKind.Bucketize;
        var fill = spec.Fill?.Strategy ?? (numeric ? FillStrategy.Mean : FillStrategy.None);
        return new FeaturePlan(spec, kind, fill);
    }
}

/// <summary>The analyzer state of one feature (or of the label).</summary>
internal sealed class FeatureAccumulator
{
    public long Missing { get; set; }
    public NumericStats? Raw { get; set; }
    public NumericStats? Post { get; set; }
    public Dictionary<string, long>? Strings { get; set; }
    public Dictionary<long, long>? Ints { get; set; }

    public static FeatureAccumulator For(FeaturePlan plan)
    {
        var a = new FeatureAccumulator();
        if (plan.IsNumeric)
        {
            a.Raw = new NumericStats(plan.RawSketch, plan.RawCounts);
            if (plan.NeedsPost) a.Post = new NumericStats(plan.Spec.Kind == FeatureKind.Bucketize, false);
        }
        if (plan.NeedsStringCounts) a.Strings = new Dictionary<string, long>(StringComparer.Ordinal);
        if (plan.NeedsIntCounts) a.Ints = [];
        return a;
    }

    public void Add(FeaturePlan plan, Column column)
    {
        if (plan.IsNumeric) AddNumeric(plan, column);
        else if (Strings is not null) AddStrings((StringColumn)column);
        else if (Ints is not null) AddInts((Int64Column)column);
        else Missing += column.CountMissing();
    }

    private void AddNumeric(FeaturePlan plan, Column column)
    {
        var n = column.Length;
        var raw = ArrayPool<double>.Shared.Rent(Math.Max(1, n));
        try
        {
            var present = ColumnValues.Present(column, raw);
            Missing += n - present;
            Raw!.AddRange(raw.AsSpan(0, present));
            if (Post is not null)
            {
                var k = 0;
                for (var i = 0; i < present; i++)
                {
                    var p = plan.Post(raw[i]);
                    if (!double.IsNaN(p)) raw[k++] = p;
                }
                Post.AddRange(raw.AsSpan(0, k));
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(raw);
        }
    }

    private void AddStrings(StringColumn column)
    {
        var dict = column.Dictionary;
        var counts = new long[dict.Count];
        var missing = column.Missing;
        var codes = column.Codes;
        for (var i = 0; i < column.Length; i++)
            if (!missing[i]) counts[codes[i]]++;
        for (var c = 0; c < counts.Length; c++)
        {
            if (counts[c] == 0) continue;
            if (dict[c].Length == 0) { Missing += counts[c]; continue; } // "" is what serving sends for missing
            CollectionsMarshal.GetValueRefOrAddDefault(Strings!, dict[c], out _) += counts[c];
        }
        Missing += column.CountMissing();
    }

    private void AddInts(Int64Column column)
    {
        var missing = column.Missing;
        var values = column.Values;
        for (var i = 0; i < column.Length; i++)
        {
            if (missing[i] || values[i] == ColumnValues.MissingInt64) { Missing++; continue; }
            CollectionsMarshal.GetValueRefOrAddDefault(Ints!, values[i], out _)++;
        }
    }

    public void Merge(FeatureAccumulator other)
    {
        Missing += other.Missing;
        if (Raw is not null && other.Raw is not null) Raw.Merge(other.Raw);
        if (Post is not null && other.Post is not null) Post.Merge(other.Post);
        if (Strings is not null && other.Strings is not null)
            foreach (var (k, v) in other.Strings) CollectionsMarshal.GetValueRefOrAddDefault(Strings, k, out _) += v;
        if (Ints is not null && other.Ints is not null)
            foreach (var (k, v) in other.Ints) CollectionsMarshal.GetValueRefOrAddDefault(Ints, k, out _) += v;
    }

    public FeatureAccumulatorState ToState() => new(Missing, Raw?.ToState(), Post?.ToState(), Strings, Ints?.Select(kv => new[] { kv.Key, kv.Value }).ToArray());

    public static FeatureAccumulator FromState(FeatureAccumulatorState s) => new()
    {
        Missing = s.Missing,
        Raw = s.Raw is null ? null : NumericStats.FromState(s.Raw),
        Post = s.Post is null ? null : NumericStats.FromState(s.Post),
        Strings = s.Strings is null ? null : new Dictionary<string, long>(s.Strings, StringComparer.Ordinal),
        Ints = s.Ints?.ToDictionary(p => p[0], p => p[1]),
    };
}

/// <summary>Serializable <see cref="FeatureAccumulator"/>.</summary>
internal sealed record FeatureAccumulatorState(long Missing, NumericStatsState? Raw, NumericStatsState? Post, Dictionary<string, long>? Strings, long[][]? Ints);

/// <summary>Reads numeric columns as doubles with the transform's missing-value rules.</summary>
internal static class ColumnValues
{
    /// <summary>What serving sends for a missing int64 (ONNX tensors have no mask): long.MinValue.</summary>
    public const long MissingInt64 = long.MinValue;

    /// <summary>Copies the present values (not masked, not NaN, not the int64 sentinel) to <paramref name="into"/>; returns their count.</summary>
    public static int Present(Column column, double[] into)
    {
        var k = 0;
        var missing = column.Missing;
        switch (column)
        {
            case Float64Column f:
                var fv = f.Values;
                for (var i = 0; i < f.Length; i++)
                {
                    var v = fv[i];
                    if (!missing[i] && !double.IsNaN(v)) into[k++] = v;
                }
                break;
            case Int64Column l:
                var lv = l.Values;
                for (var i = 0; i < l.Length; i++)
                    if (!missing[i] && lv[i] != MissingInt64) into[k++] = lv[i];
                break;
            default:
                throw new InvalidOperationException($"column '{column.Spec.Name}' is {column.Spec.Kind}, not numeric");
        }
        return k;
    }

    /// <summary>Every row as a double, NaN where missing.</summary>
    public static void All(Column column, Span<double> into)
    {
        var missing = column.Missing;
        switch (column)
        {
            case Float64Column f:
                var fv = f.Values;
                for (var i = 0; i < f.Length; i++) into[i] = missing[i] ? double.NaN : fv[i];
                break;
            case Int64Column l:
                var lv = l.Values;
                for (var i = 0; i < l.Length; i++) into[i] = missing[i] || lv[i] == MissingInt64 ? double.NaN : lv[i];
                break;
            default:
                throw new InvalidOperationException($"column '{column.Spec.Name}' is {column.Spec.Kind}, not numeric");
        }
    }
}

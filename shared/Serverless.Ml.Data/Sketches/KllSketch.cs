using System.Runtime.CompilerServices;

namespace Serverless.Ml.Data.Sketches;

/// <summary>
/// A KLL quantile sketch (Karnin, Lang, Liberty 2016) over doubles: mergeable, bounded memory
/// (about 3K items plus an initial exact buffer, whatever the stream length), and exact until the exact buffer
/// (4,096 values by default) overflows: small data sets get exact medians and histograms.
/// Error: the normalized rank error of a quantile or CDF query is below ~1.65% for K=200 with 99% confidence
/// (Apache DataSketches' published figure for this K); merged sketches keep the bound. Compaction coins come from
/// a fixed-seed generator so the same input in the same order gives the same sketch. NaN must not be added.
/// </summary>
public sealed class KllSketch
{
    private readonly List<double[]> _levels = [];
    private readonly List<int> _counts = [];
    private ulong _rng = 0x2545F4914F6CDD1DUL;

    /// <summary>Creates an empty sketch with accuracy parameter <paramref name="k"/> (default 200), exact up to <paramref name="exactLimit"/> values.</summary>
    public KllSketch(int k = 200, int exactLimit = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 8);
        K = k;
        ExactLimit = Math.Max(k, exactLimit);
        AddLevel();
    }

    /// <summary>Values kept verbatim before the first compaction.</summary>
    public int ExactLimit { get; }

    /// <summary>Accuracy parameter.</summary>
    public int K { get; }

    /// <summary>Number of values added (exact).</summary>
    public long Count { get; private set; }

    /// <summary>Smallest value added (exact); +infinity when empty.</summary>
    public double Min { get; private set; } = double.PositiveInfinity;

    /// <summary>Largest value added (exact); -infinity when empty.</summary>
    public double Max { get; private set; } = double.NegativeInfinity;

    /// <summary>Whether no compaction happened yet, i.e. every value is retained and answers are exact.</summary>
    public bool IsExact => _levels.Count == 1;

    /// <summary>Number of retained items (memory use).</summary>
    public int RetainedItems => _counts.Sum();

    private int[] _caps = [];

    private int Capacity(int level) => _levels.Count == 1 ? ExactLimit : _caps[level];

    private void AddLevel()
    {
        _levels.Add(new double[16]);
        _counts.Add(0);
        RecomputeCapacities();
    }

    private void RecomputeCapacities()
    {
        _caps = new int[_levels.Count];
        for (var h = 0; h < _caps.Length; h++) _caps[h] = Math.Max(8, (int)Math.Ceiling(K * Math.Pow(2.0 / 3.0, _caps.Length - 1 - h)));
    }

    /// <summary>Adds one value.</summary>
    public void Add(double value)
    {
        if (value < Min) Min = value;
        if (value > Max) Max = value;
        Count++;
        Append(0, value);
        if (_counts[0] >= Capacity(0)) Compress();
    }

    /// <summary>Adds many values (NaNs must be filtered by the caller); copies blocks into the level-0 buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddRange(ReadOnlySpan<double> values)
    {
        var min = Min;
        var max = Max;
        foreach (var v in values)
        {
            if (v < min) min = v;
            if (v > max) max = v;
        }
        Min = min;
        Max = max;
        Count += values.Length;
        while (values.Length > 0)
        {
            var cap = Capacity(0);
            var n = _counts[0];
            if (_levels[0].Length < cap) _levels[0] = new double[cap];
            var take = Math.Min(cap - n, values.Length);
            values[..take].CopyTo(_levels[0].AsSpan(n));
            _counts[0] = n + take;
            values = values[take..];
            if (_counts[0] >= cap) Compress();
        }
    }

    private void Append(int level, double value)
    {
        var arr = _levels[level];
        var n = _counts[level];
        if (n == arr.Length)
        {
            Array.Resize(ref arr, arr.Length * 2);
            _levels[level] = arr;
        }
        arr[n] = value;
        _counts[level] = n + 1;
    }

    private double[] _half = new double[64];

    /// <summary>
    /// Compacts every level at capacity: sort (level 0 only: levels above are kept sorted), keep the smallest item
    /// when the count is odd, promote every other item (random offset) by merging it into the sorted level above.
    /// Same selection as sorting the whole level, without re-sorting what is already sorted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Compress()
    {
        for (var h = 0; h < _levels.Count; h++)
        {
            if (_counts[h] < Capacity(h)) continue;
            if (h + 1 == _levels.Count) AddLevel();
            var arr = _levels[h];
            var n = _counts[h];
            if (h == 0) SortSmall(arr.AsSpan(0, n));
            // An odd item stays behind so that weights are preserved exactly.
            var keep = (n & 1) == 1 ? 1 : 0;
            var offset = (int)(NextRandom() & 1);
            var m = (n - keep - offset + 1) / 2;
            if (_half.Length < m) _half = new double[Math.Max(m, _half.Length * 2)];
            var half = _half;
            for (int i = keep + offset, j = 0; i < n; i += 2, j++) half[j] = arr[i];
            MergeInto(h + 1, half.AsSpan(0, m));
            _counts[h] = keep;
        }
    }

    /// <summary>Merges sorted <paramref name="items"/> into sorted level <paramref name="level"/> (backwards, in place).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MergeInto(int level, ReadOnlySpan<double> items)
    {
        var arr = _levels[level];
        var n = _counts[level];
        var total = n + items.Length;
        if (arr.Length < total)
        {
            Array.Resize(ref arr, Math.Max(total, arr.Length * 2));
            _levels[level] = arr;
        }
        int i = n - 1, j = items.Length - 1, k = total - 1;
        while (j >= 0)
        {
            if (i >= 0 && arr[i] > items[j]) arr[k--] = arr[i--];
            else arr[k--] = items[j--];
        }
        _counts[level] = total;
    }

    /// <summary>
    /// Branch-free 19-comparator sorting network for the 8-item level 0 of steady state. Math.Min/Max keep -0.0
    /// and 0.0 apart, so the items are a permutation of the input (NaN is never added).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Sort8(ref double a0)
    {
        var v0 = a0;
        var v1 = Unsafe.Add(ref a0, 1);
        var v2 = Unsafe.Add(ref a0, 2);
        var v3 = Unsafe.Add(ref a0, 3);
        var v4 = Unsafe.Add(ref a0, 4);
        var v5 = Unsafe.Add(ref a0, 5);
        var v6 = Unsafe.Add(ref a0, 6);
        var v7 = Unsafe.Add(ref a0, 7);
        Cx(ref v0, ref v2); Cx(ref v1, ref v3); Cx(ref v4, ref v6); Cx(ref v5, ref v7);
        Cx(ref v0, ref v4); Cx(ref v1, ref v5); Cx(ref v2, ref v6); Cx(ref v3, ref v7);
        Cx(ref v0, ref v1); Cx(ref v2, ref v3); Cx(ref v4, ref v5); Cx(ref v6, ref v7);
        Cx(ref v2, ref v4); Cx(ref v3, ref v5);
        Cx(ref v1, ref v4); Cx(ref v3, ref v6);
        Cx(ref v1, ref v2); Cx(ref v3, ref v4); Cx(ref v5, ref v6);
        a0 = v0;
        Unsafe.Add(ref a0, 1) = v1;
        Unsafe.Add(ref a0, 2) = v2;
        Unsafe.Add(ref a0, 3) = v3;
        Unsafe.Add(ref a0, 4) = v4;
        Unsafe.Add(ref a0, 5) = v5;
        Unsafe.Add(ref a0, 6) = v6;
        Unsafe.Add(ref a0, 7) = v7;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Cx(ref double a, ref double b)
    {
        var lo = Math.Min(a, b);
        b = Math.Max(a, b);
        a = lo;
    }

    /// <summary>Insertion sort for the small level-0 buffers of steady state; the BCL sort for big ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SortSmall(Span<double> a)
    {
        if (a.Length == 8)
        {
            Sort8(ref a[0]);
            return;
        }
        if (a.Length > 32)
        {
            a.Sort();
            return;
        }
        for (var i = 1; i < a.Length; i++)
        {
            var v = a[i];
            var j = i - 1;
            while (j >= 0 && a[j] > v)
            {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = v;
        }
    }

    private ulong NextRandom()
    {
        _rng ^= _rng << 13;
        _rng ^= _rng >> 7;
        _rng ^= _rng << 17;
        return _rng;
    }

    /// <summary>Folds another sketch in; the other sketch is unchanged.</summary>
    public void Merge(KllSketch other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Count == 0) return;
        while (_levels.Count < other._levels.Count) AddLevel();
        for (var i = 0; i < other._counts[0]; i++) Append(0, other._levels[0][i]);
        for (var h = 1; h < other._levels.Count; h++) MergeInto(h, other._levels[h].AsSpan(0, other._counts[h]));
        Count += other.Count;
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
        while (Enumerable.Range(0, _levels.Count).Any(h => _counts[h] >= Capacity(h))) Compress();
    }

    /// <summary>Retained items with their weights, sorted by value (weights sum to <see cref="Count"/>).</summary>
    public (double[] Values, long[] Weights) SortedItems()
    {
        var n = RetainedItems;
        var values = new double[n];
        var weights = new long[n];
        var p = 0;
        for (var h = 0; h < _levels.Count; h++)
        {
            for (var i = 0; i < _counts[h]; i++)
            {
                values[p] = _levels[h][i];
                weights[p++] = 1L << h;
            }
        }
        Array.Sort(values, weights);
        return (values, weights);
    }

    /// <summary>The value at normalized rank <paramref name="q"/> in [0, 1]; 0 gives the exact min, 1 the exact max.</summary>
    public double Quantile(double q)
    {
        if (Count == 0) return double.NaN;
        if (q <= 0) return Min;
        if (q >= 1) return Max;
        var (values, weights) = SortedItems();
        return QuantileOf(values, weights, q);
    }

    /// <summary>Several quantiles with one sort.</summary>
    public double[] Quantiles(IReadOnlyList<double> qs)
    {
        ArgumentNullException.ThrowIfNull(qs);
        if (Count == 0) return qs.Select(_ => double.NaN).ToArray();
        var (values, weights) = SortedItems();
        return qs.Select(q => q <= 0 ? Min : q >= 1 ? Max : QuantileOf(values, weights, q)).ToArray();
    }

    private double QuantileOf(double[] values, long[] weights, double q)
    {
        // Lower quantile: the smallest item whose cumulative weight reaches q * Count (pandas' "lower" method
        // when the sketch is exact; pandas interpolates by default, which tests account for).
        var target = q * Count;
        long cum = 0;
        for (var i = 0; i < values.Length; i++)
        {
            cum += weights[i];
            if (cum >= target) return values[i];
        }
        return Max;
    }

    /// <summary>Estimated number of values in [lo, hi) (or [lo, hi] when <paramref name="inclusiveHigh"/>).</summary>
    public double CountBetween(double lo, double hi, bool inclusiveHigh = false)
    {
        var (values, weights) = SortedItems();
        double c = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            if (v >= lo && (v < hi || (inclusiveHigh && v <= hi))) c += weights[i];
        }
        return c;
    }

    /// <summary>Serializable state, for shipping partial statistics between activities.</summary>
    public KllState ToState() => new(K, ExactLimit, Count, Min, Max, _rng, Enumerable.Range(0, _levels.Count).Select(h => _levels[h].AsSpan(0, _counts[h]).ToArray()).ToArray());

    /// <summary>Restores a sketch from <see cref="ToState"/>.</summary>
    public static KllSketch FromState(KllState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var s = new KllSketch(state.K, state.ExactLimit) { Count = state.Count, Min = state.Min, Max = state.Max, _rng = state.Rng == 0 ? 1 : state.Rng };
        s._levels.Clear();
        s._counts.Clear();
        foreach (var level in state.Levels)
        {
            s._levels.Add(level.Length == 0 ? new double[16] : (double[])level.Clone());
            s._counts.Add(level.Length);
        }
        if (s._levels.Count == 0) s.AddLevel();
        for (var h = 1; h < s._levels.Count; h++) Array.Sort(s._levels[h], 0, s._counts[h]); // levels above 0 are kept sorted
        s.RecomputeCapacities();
        return s;
    }
}

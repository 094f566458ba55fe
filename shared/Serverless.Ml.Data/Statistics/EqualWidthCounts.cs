using System.Runtime.CompilerServices;

namespace Serverless.Ml.Data.Statistics;

/// <summary>
/// Exact counts of a standard (equal-width) histogram whose edges are fixed up front: <c>Buckets</c> buckets of
/// width <c>(Hi - Lo) / Buckets</c> from the exact min to the exact max, each [low, high) except the last, which
/// includes the max. The edges a value is compared with are the ones reported (<see cref="LowEdge"/>), so a count
/// never disagrees with its bucket's printed bounds. Public properties only so that partial statistics serialize.
/// </summary>
internal sealed class EqualWidthCounts
{
    /// <summary>Smallest value (the first bucket's low edge).</summary>
    public double Lo { get; set; }

    /// <summary>Largest value (the last bucket's high edge).</summary>
    public double Hi { get; set; }

    /// <summary>Number of buckets: 1 when all values are equal or the range overflows a double.</summary>
    public int Buckets { get; set; }

    /// <summary>Values per bucket.</summary>
    public long[] Counts { get; set; } = [];

    /// <summary>Values counted.</summary>
    public long Total { get; set; }

    /// <summary>The edges TFDV's standard histogram uses for data from <paramref name="lo"/> to <paramref name="hi"/>.</summary>
    public static EqualWidthCounts For(double lo, double hi, int buckets)
    {
        var nb = lo == hi || !double.IsFinite(hi - lo) ? 1 : buckets;
        return new EqualWidthCounts { Lo = lo, Hi = hi, Buckets = nb, Counts = new long[nb] };
    }

    private double Width => (Hi - Lo) / Buckets;

    /// <summary>Low edge of bucket <paramref name="b"/>.</summary>
    public double LowEdge(int b) => b == 0 ? Lo : Lo + (b * Width);

    /// <summary>High edge of bucket <paramref name="b"/>.</summary>
    public double HighEdge(int b) => b == Buckets - 1 ? Hi : Lo + ((b + 1) * Width);

    /// <summary>Whether another counter has the same edges (so counts add up).</summary>
    public bool SameEdges(EqualWidthCounts other) =>
        other.Buckets == Buckets && other.Lo.Equals(Lo) && other.Hi.Equals(Hi);

    /// <summary>Whether these edges are the ones data with this exact min and max gets.</summary>
    public bool Fits(double lo, double hi, int buckets) => SameEdges(For(lo, hi, buckets));

    /// <summary>The bucket of a value inside [Lo, Hi] (values outside are clamped to the first or last).</summary>
    public int BucketOf(double v) => Buckets == 1 ? 0 : BucketOf(v, Lo, Width, Buckets);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BucketOf(double v, double lo, double width, int nb)
    {
        var x = (v - lo) / width;
        var b = x >= nb - 1 ? nb - 1 : x > 0 ? (int)x : 0;
        // Division rounding may disagree with the reported edges; the edges decide.
        while (b > 0 && v < lo + (b * width)) b--;
        while (b < nb - 1 && v >= lo + ((b + 1) * width)) b++;
        return b;
    }

    /// <summary>Counts values (no NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(ReadOnlySpan<double> values)
    {
        var counts = Counts;
        var nb = Buckets;
        if (nb == 1)
        {
            counts[0] += values.Length;
        }
        else
        {
            var lo = Lo;
            var width = Width;
            foreach (var v in values) counts[BucketOf(v, lo, width, nb)]++;
        }
        Total += values.Length;
    }

    /// <summary>Counts one value <paramref name="weight"/> times.</summary>
    public void Add(double value, long weight)
    {
        Counts[BucketOf(value)] += weight;
        Total += weight;
    }

    /// <summary>Adds another counter's counts (same edges).</summary>
    public void Merge(EqualWidthCounts other)
    {
        for (var b = 0; b < Counts.Length; b++) Counts[b] += other.Counts[b];
        Total += other.Total;
    }

    /// <summary>A copy with the same edges and counts.</summary>
    public EqualWidthCounts Clone() => new() { Lo = Lo, Hi = Hi, Buckets = Buckets, Counts = (long[])Counts.Clone(), Total = Total };

    /// <summary>Same edges, no counts.</summary>
    public EqualWidthCounts Empty() => new() { Lo = Lo, Hi = Hi, Buckets = Buckets, Counts = new long[Buckets] };
}

namespace Serverless.Ml.Data.Statistics;

/// <summary>Options for <see cref="StatisticsBuilder"/>; defaults follow TFDV.</summary>
public sealed class StatisticsOptions
{
    /// <summary>Buckets of the equal-width histogram. Default 10.</summary>
    public int NumHistogramBuckets { get; set; } = 10;

    /// <summary>Buckets of the quantiles histogram. Default 10.</summary>
    public int NumQuantilesHistogramBuckets { get; set; } = 10;

    /// <summary>Top values kept for text features. Default 20.</summary>
    public int NumTopValues { get; set; } = 20;

    /// <summary>Buckets of the rank histogram. Default 20.</summary>
    public int NumRankHistogramBuckets { get; set; } = 20;

    /// <summary>KLL accuracy parameter: 200 gives ~1.65% rank error (99% confidence). Default 200.</summary>
    public int QuantileSketchK { get; set; } = 200;

    /// <summary>
    /// Distinct text values counted exactly per feature. Beyond it the least frequent half is pruned, unique counts
    /// switch to the HyperLogLog estimate and <see cref="StringStatistics.CountErrorBound"/> records the worst undercount.
    /// Default 100,000.
    /// </summary>
    public int MaxExactDistinct { get; set; } = 100_000;

    /// <summary>Emit every value with its count (<see cref="StringStatistics.Values"/>) up to this many distinct values, for validation. Default 1,000.</summary>
    public int MaxValuesInOutput { get; set; } = 1_000;

    /// <summary>Compute features of a batch in parallel. Default true.</summary>
    public bool Parallel { get; set; } = true;
}

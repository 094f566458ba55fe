namespace Serverless.Ml.Data.Statistics;

/// <summary>A histogram; TFDV's <c>Histogram</c>.</summary>
public sealed class Histogram
{
    /// <summary><c>STANDARD</c> (equal width) or <c>QUANTILES</c> (equal count).</summary>
    public string Type { get; set; } = "STANDARD";

    /// <summary>NaN values (not in any bucket).</summary>
    public long NumNan { get; set; }

    /// <summary>Buckets in ascending order.</summary>
    public List<HistogramBucket> Buckets { get; set; } = [];
}

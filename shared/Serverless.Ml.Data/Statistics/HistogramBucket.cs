namespace Serverless.Ml.Data.Statistics;

/// <summary>One bucket: [low, high) except the last, which includes high.</summary>
public sealed class HistogramBucket
{
    /// <summary>Low edge.</summary>
    public double LowValue { get; set; }

    /// <summary>High edge.</summary>
    public double HighValue { get; set; }

    /// <summary>Values in the bucket (estimated from the sketch when it is not exact).</summary>
    public double SampleCount { get; set; }
}

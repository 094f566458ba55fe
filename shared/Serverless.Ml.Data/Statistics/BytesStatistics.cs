namespace Serverless.Ml.Data.Statistics;

/// <summary>Bytes statistics.</summary>
public sealed class BytesStatistics
{
    /// <summary>Presence and value counts.</summary>
    public CommonStatistics CommonStats { get; set; } = new();

    /// <summary>Estimated distinct values (HyperLogLog).</summary>
    public long Unique { get; set; }

    /// <summary>Average byte length.</summary>
    public double AvgNumBytes { get; set; }

    /// <summary>Smallest byte length.</summary>
    public double MinNumBytes { get; set; }

    /// <summary>Largest byte length.</summary>
    public double MaxNumBytes { get; set; }
}

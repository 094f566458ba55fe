namespace Serverless.Ml.Data.Statistics;

/// <summary>One rank bucket.</summary>
public sealed class RankBucket
{
    /// <summary>First rank (0-based).</summary>
    public long LowRank { get; set; }

    /// <summary>Last rank.</summary>
    public long HighRank { get; set; }

    /// <summary>The value at this rank.</summary>
    public string Label { get; set; } = string.Empty;

    /// <summary>Its count.</summary>
    public double SampleCount { get; set; }
}

namespace Serverless.Ml.Data.Statistics;

/// <summary>TFDV's <c>RankHistogram</c>.</summary>
public sealed class RankHistogram
{
    /// <summary>Buckets by rank.</summary>
    public List<RankBucket> Buckets { get; set; } = [];
}

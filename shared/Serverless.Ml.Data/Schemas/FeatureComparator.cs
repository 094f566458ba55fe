namespace Serverless.Ml.Data.Schemas;

/// <summary>Distribution comparison thresholds (TFDV: infinity_norm for categorical, jensen_shannon_divergence for numeric).</summary>
public sealed class FeatureComparator
{
    /// <summary>Largest allowed L-infinity distance between categorical value distributions (0..1).</summary>
    public double? InfinityNormThreshold { get; set; }

    /// <summary>Largest allowed Jensen-Shannon divergence (base 2, 0..1) between numeric histograms.</summary>
    public double? JensenShannonDivergenceThreshold { get; set; }
}

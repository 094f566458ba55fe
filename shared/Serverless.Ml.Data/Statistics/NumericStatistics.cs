namespace Serverless.Ml.Data.Statistics;

/// <summary>Numeric statistics. NaNs are counted in <see cref="NumNan"/> and excluded from everything else.</summary>
public sealed class NumericStatistics
{
    /// <summary>Presence and value counts.</summary>
    public CommonStatistics CommonStats { get; set; } = new();

    /// <summary>Mean (exact up to floating point; merged with Chan's parallel formula).</summary>
    public double Mean { get; set; }

    /// <summary>Population standard deviation (ddof = 0, as TFDV; pandas' describe uses ddof = 1).</summary>
    public double StdDev { get; set; }

    /// <summary>Values equal to zero.</summary>
    public long NumZeros { get; set; }

    /// <summary>Exact minimum.</summary>
    public double Min { get; set; }

    /// <summary>Median from the quantile sketch (exact while the sketch is exact).</summary>
    public double Median { get; set; }

    /// <summary>Exact maximum.</summary>
    public double Max { get; set; }

    /// <summary>NaN values.</summary>
    public long NumNan { get; set; }

    /// <summary>Whether quantiles and histograms are exact (no sketch compaction happened).</summary>
    public bool QuantilesExact { get; set; }

    /// <summary>Standard (equal-width) and quantiles histograms.</summary>
    public List<Histogram> Histograms { get; set; } = [];
}

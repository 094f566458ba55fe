namespace Serverless.Ml.Data.Statistics;

/// <summary>Presence and value counts (TFDV's <c>CommonStatistics</c>).</summary>
public sealed class CommonStatistics
{
    /// <summary>Rows where the feature has a value.</summary>
    public long NumNonMissing { get; set; }

    /// <summary>Rows without a value.</summary>
    public long NumMissing { get; set; }

    /// <summary>Fewest values in a row that has the feature.</summary>
    public long MinNumValues { get; set; }

    /// <summary>Most values in a row.</summary>
    public long MaxNumValues { get; set; }

    /// <summary>Average values per row that has the feature.</summary>
    public double AvgNumValues { get; set; }

    /// <summary>Total values.</summary>
    public long TotNumValues { get; set; }
}

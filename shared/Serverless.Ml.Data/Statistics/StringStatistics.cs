namespace Serverless.Ml.Data.Statistics;

/// <summary>Text statistics.</summary>
public sealed class StringStatistics
{
    /// <summary>Presence and value counts.</summary>
    public CommonStatistics CommonStats { get; set; } = new();

    /// <summary>Distinct values: exact unless <see cref="UniqueIsEstimate"/> (then HyperLogLog, ±2.5% at 99.7%).</summary>
    public long Unique { get; set; }

    /// <summary>Whether <see cref="Unique"/> is a HyperLogLog estimate.</summary>
    public bool UniqueIsEstimate { get; set; }

    /// <summary>Most frequent values, most frequent first (ties by value, ordinal).</summary>
    public List<ValueCount> TopValues { get; set; } = [];

    /// <summary>Average UTF-8 byte length.</summary>
    public double AvgLength { get; set; }

    /// <summary>Rank histogram: one bucket per top value, rank = position.</summary>
    public RankHistogram RankHistogram { get; set; } = new();

    /// <summary>Every value with its count when there are at most <see cref="StatisticsOptions.MaxValuesInOutput"/> distinct values; null otherwise.</summary>
    public List<ValueCount>? Values { get; set; }

    /// <summary>Upper bound of how much any reported count may be under the truth (0 = exact): grows only when the distinct-value cap forced pruning.</summary>
    public long CountErrorBound { get; set; }

    /// <summary>
    /// Values that were not valid UTF-8 (TFDV's <c>invalid_utf8_count</c>): text is decoded with U+FFFD for invalid
    /// sequences, so this counts values holding U+FFFD (a literal U+FFFD in valid input counts too).
    /// </summary>
    public long InvalidUtf8Count { get; set; }

    /// <summary>Values holding a NUL character (not a TFDV statistic: NUL in text is almost always corruption).</summary>
    public long NulCount { get; set; }
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Ml.Data.Statistics;

/// <summary>A feature's logical type, named as TFDV / TensorFlow Metadata name them.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FeatureType>))]
public enum FeatureType
{
    /// <summary>Integers.</summary>
    INT,

    /// <summary>Floats (also fixed-shape float tensors, whose values are flattened).</summary>
    FLOAT,

    /// <summary>UTF-8 text.</summary>
    STRING,

    /// <summary>Opaque bytes.</summary>
    BYTES,
}

/// <summary>Statistics of several datasets (one per split), TFDV's <c>DatasetFeatureStatisticsList</c>.</summary>
public sealed class DatasetFeatureStatisticsList
{
    /// <summary>One entry per split.</summary>
    public List<DatasetFeatureStatistics> Datasets { get; set; } = [];

    /// <summary>The dataset of a split, or null.</summary>
    public DatasetFeatureStatistics? Find(string name) => Datasets.FirstOrDefault(d => d.Name == name);

    /// <summary>JSON options used for every statistics, schema and anomalies file (snake_case like TFDV's JSON).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Serializes to JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parses JSON written by <see cref="ToJson"/>.</summary>
    public static DatasetFeatureStatisticsList FromJson(string json) =>
        JsonSerializer.Deserialize<DatasetFeatureStatisticsList>(json, JsonOptions) ?? throw new InvalidDataException("statistics JSON is null");

    /// <summary>Writes JSON to a file.</summary>
    public void Save(string path) => File.WriteAllText(path, ToJson());

    /// <summary>Reads a JSON file.</summary>
    public static DatasetFeatureStatisticsList Load(string path) => FromJson(File.ReadAllText(path));
}

/// <summary>Statistics of one dataset (split).</summary>
public sealed class DatasetFeatureStatistics
{
    /// <summary>Split name, e.g. <c>train</c>.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Rows.</summary>
    public long NumExamples { get; set; }

    /// <summary>One entry per feature, in first-seen order.</summary>
    public List<FeatureNameStatistics> Features { get; set; } = [];

    /// <summary>A feature by name, or null.</summary>
    public FeatureNameStatistics? Find(string name) => Features.FirstOrDefault(f => f.Name == name);
}

/// <summary>Statistics of one feature. Exactly one of the kind-specific sections is set.</summary>
public sealed class FeatureNameStatistics
{
    /// <summary>Feature name.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Type (the first type seen when shards disagree).</summary>
    public FeatureType Type { get; set; }

    /// <summary>Other types this feature had in some shards or batches; non-empty means an anomaly, not a crash.</summary>
    public List<FeatureType>? ConflictingTypes { get; set; }

    /// <summary>Numeric statistics (INT, FLOAT).</summary>
    public NumericStatistics? NumStats { get; set; }

    /// <summary>Text statistics (STRING).</summary>
    public StringStatistics? StringStats { get; set; }

    /// <summary>Bytes statistics (BYTES).</summary>
    public BytesStatistics? BytesStats { get; set; }

    /// <summary>The common section, whichever kind.</summary>
    [JsonIgnore]
    public CommonStatistics Common => NumStats?.CommonStats ?? StringStats?.CommonStats ?? BytesStats?.CommonStats ?? new CommonStatistics();
}

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

/// <summary>A value and its frequency.</summary>
public sealed class ValueCount
{
    /// <summary>The value.</summary>
    public string Value { get; set; } = string.Empty;

    /// <summary>How many times it occurred.</summary>
    public double Frequency { get; set; }
}

/// <summary>TFDV's <c>RankHistogram</c>.</summary>
public sealed class RankHistogram
{
    /// <summary>Buckets by rank.</summary>
    public List<RankBucket> Buckets { get; set; } = [];
}

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

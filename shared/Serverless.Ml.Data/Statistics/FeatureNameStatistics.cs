using System.Text.Json.Serialization;

namespace Serverless.Ml.Data.Statistics;

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

using Serverless.Ml.Data.Statistics;

namespace Serverless.Ml.Data.Schemas;

/// <summary>One feature's contract.</summary>
public sealed class FeatureSchema
{
    /// <summary>Feature name.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Expected type.</summary>
    public FeatureType Type { get; set; }

    /// <summary>How often the feature must be present.</summary>
    public FeaturePresence? Presence { get; set; }

    /// <summary>Values per example.</summary>
    public ValueCountRange? ValueCount { get; set; }

    /// <summary>Tensor shape per example (fixed-shape float features, e.g. images); null for scalars.</summary>
    public int[]? Shape { get; set; }

    /// <summary>Allowed values of a categorical text feature.</summary>
    public StringDomain? StringDomain { get; set; }

    /// <summary>Allowed integer range (off unless inferred with numeric ranges or curated).</summary>
    public IntDomain? IntDomain { get; set; }

    /// <summary>Allowed float range (off unless inferred with numeric ranges or curated).</summary>
    public FloatDomain? FloatDomain { get; set; }

    /// <summary>NaN values are an anomaly. Inferred true for float features that had no NaN.</summary>
    public bool DisallowNan { get; set; }

    /// <summary>Drift threshold against the previous span's statistics.</summary>
    public FeatureComparator? DriftComparator { get; set; }

    /// <summary>Skew threshold against serving statistics.</summary>
    public FeatureComparator? SkewComparator { get; set; }
}

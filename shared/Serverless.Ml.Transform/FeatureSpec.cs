using System.Text.Json.Serialization;

namespace Serverless.Ml.Transform;

/// <summary>
/// One output feature of the transform: a raw column (or, for crosses, other features) and what to compute.
/// Numeric pipeline order: fill -> clip -> log1p -> kind (passthrough / z_score / min_max / bucketize).
/// Fields that do not apply to <see cref="Kind"/> must be left out (validation says which).
/// </summary>
public sealed record FeatureSpec
{
    /// <summary>Output name, unique in the spec; also the layout entry's name.</summary>
    public required string Name { get; init; }

    /// <summary>The raw column; defaults to <see cref="Name"/>. Not used by crosses.</summary>
    public string? Input { get; init; }

    /// <summary>What to compute.</summary>
    public FeatureKind Kind { get; init; } = FeatureKind.Passthrough;

    /// <summary>Missing-value imputation. Default: mean for numeric kinds, none for categorical kinds.</summary>
    public FillSpec? Fill { get; init; }

    /// <summary>Clipping of numeric values, after the fill.</summary>
    public ClipSpec? Clip { get; init; }

    /// <summary>Apply log(1 + x) to numeric values, after fill and clip.</summary>
    public bool Log1p { get; init; }

    /// <summary>Number of quantile buckets (bucketize); boundaries are the quantiles at i / NumBuckets.</summary>
    public int? NumBuckets { get; init; }

    /// <summary>Keep only the K most frequent tokens (vocabulary).</summary>
    public int? TopK { get; init; }

    /// <summary>Keep only tokens seen at least this many times (vocabulary).</summary>
    public long? FrequencyThreshold { get; init; }

    /// <summary>Extra buckets for tokens outside the vocabulary (vocabulary; 0 = index -1 for them).</summary>
    public int NumOovBuckets { get; init; }

    /// <summary>Number of hash buckets (hash; optional for crosses).</summary>
    public int? HashBuckets { get; init; }

    /// <summary>Names of the categorical features (vocabulary, hash, bucketize) crossed (cross).</summary>
    public IReadOnlyList<string>? Components { get; init; }

    /// <summary>Encoding of categorical kinds. Default one-hot.</summary>
    public CategoricalEncoding Encode { get; init; } = CategoricalEncoding.OneHot;

    /// <summary>Raw value mapped to 0 (image). Default 0.</summary>
    public double ImageMin { get; init; }

    /// <summary>Raw value mapped to 1 (image). Default 255.</summary>
    public double ImageMax { get; init; } = 255;

    /// <summary>Whether the feature goes into the output matrix; false for features used only as cross components.</summary>
    public bool Output { get; init; } = true;

    /// <summary>The raw column this feature reads.</summary>
    [JsonIgnore]
    public string Column => Input ?? Name;
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Ml.Transform;

/// <summary>What one output feature computes from its raw column.</summary>
public enum FeatureKind
{
    /// <summary>The numeric value as a float (after optional fill, clip and log1p).</summary>
    Passthrough,

    /// <summary>(x - mean) / std_dev over the train split (population std dev; 1 when it is 0).</summary>
    ZScore,

    /// <summary>(x - min) / (max - min) over the train split (range 1 when it is 0).</summary>
    MinMax,

    /// <summary>Bucket index by quantile boundaries fitted on the train split (tf.Transform's bucketize).</summary>
    Bucketize,

    /// <summary>Index in a fitted vocabulary (string or int64), with top_k, frequency threshold and OOV buckets.</summary>
    Vocabulary,

    /// <summary>A stable hash of the value modulo <see cref="FeatureSpec.HashBuckets"/>.</summary>
    Hash,

    /// <summary>The cross of two or more categorical features (their indices combined, optionally hashed).</summary>
    Cross,

    /// <summary>A fixed-shape float tensor scaled from [ImageMin, ImageMax] to [0, 1], flattened.</summary>
    Image,
}

/// <summary>How a categorical index (vocabulary, hash, bucketize, cross) becomes model input columns.</summary>
public enum CategoricalEncoding
{
    /// <summary>One column per category, 1 for the row's category; index -1 gives all zeros.</summary>
    OneHot,

    /// <summary>One column holding the index as a float (-1 when there is no category).</summary>
    Index,
}

/// <summary>How missing values are replaced before anything else (analyzers see the filled values, as in TFT).</summary>
public enum FillStrategy
{
    /// <summary>Leave missing values missing: NaN for numbers, "no category" (or the first OOV bucket) for categories.</summary>
    None,

    /// <summary>Mean of the present values of the train split (numeric only).</summary>
    Mean,

    /// <summary>Median (KLL lower median: exact up to 4,096 values, ~1.65% rank error beyond) (numeric only).</summary>
    Median,

    /// <summary>Most frequent value (numbers: ties to the smallest; strings: ties by the vocabulary order).</summary>
    Mode,

    /// <summary>A given constant: <see cref="FillSpec.Value"/> for numbers, <see cref="FillSpec.Text"/> for strings.</summary>
    Constant,
}

/// <summary>Missing-value imputation of one feature.</summary>
/// <param name="Strategy">The strategy.</param>
/// <param name="Value">The constant for numeric features (strategy <c>constant</c>).</param>
/// <param name="Text">The constant for string features (strategy <c>constant</c>).</param>
public sealed record FillSpec(FillStrategy Strategy, double? Value = null, string? Text = null);

/// <summary>Clipping bounds; a null bound is open.</summary>
/// <param name="Min">Lower bound.</param>
/// <param name="Max">Upper bound.</param>
public sealed record ClipSpec(double? Min = null, double? Max = null);

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

/// <summary>Whether the label is a class or a value.</summary>
public enum LabelKind
{
    /// <summary>Class index from a fitted vocabulary (same order as features: frequency desc, then reverse lexicographic); -1 when missing or unseen.</summary>
    Classification,

    /// <summary>The numeric value as a float; NaN when missing.</summary>
    Regression,
}

/// <summary>The label: transformed into the examples file, never part of the serving graph.</summary>
/// <param name="Input">The raw label column.</param>
/// <param name="Kind">Classification or regression.</param>
public sealed record LabelSpec(string Input, LabelKind Kind = LabelKind.Classification);

/// <summary>
/// The declarative preprocessing spec: an ordered list of output features (the order is the column order of the
/// output matrix) and an optional label. Loads from JSON or YAML (camelCase keys, snake_case enum values).
/// </summary>
public sealed record TransformSpec
{
    /// <summary>Output features in matrix order.</summary>
    public required IReadOnlyList<FeatureSpec> Features { get; init; }

    /// <summary>The label, or null for unlabeled data.</summary>
    public LabelSpec? Label { get; init; }

    /// <summary>JSON options used for specs and fitted transforms: camelCase properties, snake_case enums.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = CreateJsonOptions();

    /// <summary>Loads a spec from a <c>.json</c>, <c>.yaml</c> or <c>.yml</c> file.</summary>
    /// <exception cref="TransformSpecFormatException">The file is not a readable spec, or exceeds a bound of <paramref name="limits"/>; names the file, line and column.</exception>
    public static TransformSpec Load(string path, TransformSpecLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return TransformSpecReader.Load(path, limits ?? TransformSpecLimits.Default);
    }

    /// <summary>Parses a JSON spec; <paramref name="origin"/> names it in errors (a file, or the parameter it came from).</summary>
    /// <exception cref="TransformSpecFormatException">Not a readable spec, or a bound of <paramref name="limits"/> exceeded.</exception>
    public static TransformSpec FromJson(string json, TransformSpecLimits? limits = null, string origin = "<json spec>")
    {
        ArgumentNullException.ThrowIfNull(json);
        return TransformSpecReader.FromJson(json, origin, limits ?? TransformSpecLimits.Default);
    }

    /// <summary>
    /// Parses a YAML spec (same keys as JSON; plain scalars that look like numbers or booleans are typed; the first
    /// document only); <paramref name="origin"/> names it in errors.
    /// </summary>
    /// <exception cref="TransformSpecFormatException">Not a readable spec, or a bound of <paramref name="limits"/> exceeded.</exception>
    public static TransformSpec FromYaml(string yaml, TransformSpecLimits? limits = null, string origin = "<yaml spec>")
    {
        ArgumentNullException.ThrowIfNull(yaml);
        return TransformSpecReader.FromYaml(yaml, origin, limits ?? TransformSpecLimits.Default);
    }

    /// <summary>Serializes the spec as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    private static JsonSerializerOptions CreateJsonOptions()
    {
        var o = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        return o;
    }
}

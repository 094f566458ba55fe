using Serverless.Ml.Data;

namespace Serverless.Ml.Transform;

/// <summary>
/// The frozen parameters of one feature after the full pass: what the in-process transform and the ONNX graph both
/// read, so the two cannot drift apart. Saved as JSON in the transform artifact.
/// </summary>
public sealed record FittedFeature
{
    /// <summary>The feature's spec.</summary>
    public required FeatureSpec Spec { get; init; }

    /// <summary>The raw column's kind (Int64 for crosses, which read no column).</summary>
    public required ColumnKind InputKind { get; init; }

    /// <summary>Per-row shape of an image column; empty otherwise.</summary>
    public int[] InputShape { get; init; } = [];

    /// <summary>First column in the output matrix; -1 when the feature is not output.</summary>
    public int Offset { get; init; } = -1;

    /// <summary>Number of output columns (0 when not output).</summary>
    public int Width { get; init; }

    /// <summary>Number of categories of a categorical kind (vocabulary + OOV buckets, hash buckets, buckets, crosses).</summary>
    public long Cardinality { get; init; }

    /// <summary>Numeric fill value in raw units, or null to leave missing values NaN.</summary>
    public double? FillValue { get; init; }

    /// <summary>String fill value, or null.</summary>
    public string? FillText { get; init; }

    /// <summary>Subtracted after clip/log1p (z-score: mean; min-max: min).</summary>
    public double Center { get; init; }

    /// <summary>Divisor after centering (z-score: std dev; min-max: range); 1 when degenerate.</summary>
    public double Scale { get; init; } = 1;

    /// <summary>Ascending quantile boundaries (bucketize); bucket = number of boundaries &lt;= x.</summary>
    public double[]? Boundaries { get; init; }

    /// <summary>String vocabulary in index order (TFT order).</summary>
    public string[]? Vocabulary { get; init; }

    /// <summary>Int64 vocabulary in index order (TFT order, ties by reverse lexicographic decimal text).</summary>
    public long[]? IntVocabulary { get; init; }

    /// <summary>
    /// String -> index table: the vocabulary entries and "" (missing) -> <see cref="MissingIndex"/>. Any other string
    /// goes to <see cref="UnseenStringIndex"/>: hashed, so the graph and this table never need every string seen.
    /// </summary>
    public Dictionary<string, long>? StringTable { get; init; }

    /// <summary>
    /// Index of a value the table does not know when it is not hashed (the OOV bucket when there is one, or -1);
    /// for hash buckets, the index of a missing value without a fill (0).
    /// </summary>
    public long DefaultIndex { get; init; } = -1;

    /// <summary>Whether strings outside <see cref="StringTable"/> are hashed (hash buckets, or OOV buckets).</summary>
    public bool HashesUnseenStrings => Spec.Kind == FeatureKind.Hash || (Spec.Kind == FeatureKind.Vocabulary && Spec.NumOovBuckets > 0);

    /// <summary>
    /// Index of a string outside <see cref="StringTable"/>: <c>StableHash.StringBucket</c> for hash buckets, vocabulary
    /// size + its hashed OOV bucket for a vocabulary with OOV buckets (TFT's rule), else <see cref="DefaultIndex"/>.
    /// </summary>
    public long UnseenStringIndex(string value) =>
        Spec.Kind == FeatureKind.Hash ? StableHash.StringBucket(value, Spec.HashBuckets!.Value)
        : HashesUnseenStrings ? Vocabulary!.Length + StableHash.StringBucket(value, Spec.NumOovBuckets)
        : DefaultIndex;

    /// <summary>Index of a missing value (its fill value's index, else <see cref="DefaultIndex"/>).</summary>
    public long MissingIndex { get; init; } = -1;

    /// <summary>Whether this feature yields a categorical index.</summary>
    public bool IsCategorical => Spec.Kind is FeatureKind.Vocabulary or FeatureKind.Hash or FeatureKind.Bucketize or FeatureKind.Cross;
}

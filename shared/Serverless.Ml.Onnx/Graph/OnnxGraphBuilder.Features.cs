namespace Serverless.Ml.Onnx.Graph;

// Preprocessing building blocks for Transform's exported graph. They take column-shaped inputs
// [batch, 1] and broadcast them against a constant vector [K], so the results are [batch, K] (one-hot)
// or [batch, 1] (indices, buckets); this is the layout tabular features have in our graphs.
public sealed partial class OnnxGraphBuilder
{
    /// <summary>Replaces NaN with <paramref name="value"/> (imputation of missing floats).</summary>
    public OnnxValue FillNaN(OnnxValue x, double value) => Where(IsNaN(x), ScalarLike(x, value), x);

    /// <summary>
    /// One-hot encoding by comparing x [batch, 1] with the constant <paramref name="categories"/> [K]:
    /// the result [batch, K] has 1 where x equals a category, all zeros for a value outside them.
    /// (ONNX's OneHot op wants indices; this works on the raw values.)
    /// </summary>
    public OnnxValue OneHot(OnnxValue x, IReadOnlyList<double> categories, OnnxElementType outputType = OnnxElementType.Float)
    {
        RequireNonEmpty(categories, nameof(categories));
        return Cast(Equal(x, VectorLike(x, categories)), outputType);
    }

    /// <summary>
    /// One-hot encoding of strings x [batch, 1] over <paramref name="vocabulary"/>: a <see cref="Lookup(OnnxValue, IReadOnlyList{string}, long)"/>
    /// to indices, then a comparison with 0..K-1. Unknown strings give all zeros.
    /// </summary>
    public OnnxValue OneHot(OnnxValue x, IReadOnlyList<string> vocabulary, OnnxElementType outputType = OnnxElementType.Float)
    {
        var index = Lookup(x, vocabulary, defaultIndex: -1);
        var range = Constant(Enumerable.Range(0, vocabulary.Count).Select(i => (long)i).ToArray());
        return Cast(Equal(index, range), outputType);
    }

    /// <summary>
    /// Index of each string of x in <paramref name="vocabulary"/> (int64, same shape as x), or
    /// <paramref name="defaultIndex"/> for strings not in it. Uses ai.onnx.ml LabelEncoder (a hash lookup),
    /// because ai.onnx's Equal takes strings only from opset 19 and comparisons never do.
    /// </summary>
    public OnnxValue Lookup(OnnxValue x, IReadOnlyList<string> vocabulary, long defaultIndex = -1)
    {
        RequireNonEmpty(vocabulary, nameof(vocabulary));
        if (x.ElementType != OnnxElementType.String)
            throw new ArgumentException($"A string vocabulary needs a String input; '{x}' is not.", nameof(x));
        RequireDistinct(vocabulary, nameof(vocabulary));
        return Node("LabelEncoder", [x], OnnxElementType.Int64,
        [
            OnnxAttribute.Strings("keys_strings", vocabulary),
            OnnxAttribute.Ints("values_int64s", Enumerable.Range(0, vocabulary.Count).Select(i => (long)i)),
            OnnxAttribute.Int("default_int64", defaultIndex),
        ], OnnxVersions.MlDomain);
    }

    /// <summary>
    /// MurmurHash3 x86 32-bit of each string's UTF-8 bytes (or each number's bytes) with <paramref name="seed"/>,
    /// as uint32, same shape as x. Hash buckets need a hash of strings never seen at fit time, and no standard
    /// operator turns a string into bytes or numbers, so this is ONNX Runtime's contrib op <c>com.microsoft</c>
    /// MurmurHash3: the model then runs in ONNX Runtime only.
    /// </summary>
    public OnnxValue MurmurHash3(OnnxValue x, uint seed = 0) =>
        Node("MurmurHash3", [x], OnnxElementType.UInt32,
        [
            OnnxAttribute.Int("seed", seed),
            OnnxAttribute.Int("positive", 1),
        ], OnnxVersions.MicrosoftDomain);

    /// <summary>
    /// Index of each value of x [batch, 1] in the numeric <paramref name="vocabulary"/> [K], as int64
    /// [batch, 1], or <paramref name="defaultIndex"/> when absent: Equal against the vocabulary, ArgMax
    /// for the position, a ReduceSum of the matches to detect absence. O(K) per row, fine for the
    /// vocabularies of integer categorical features.
    /// </summary>
    public OnnxValue Lookup(OnnxValue x, IReadOnlyList<long> vocabulary, long defaultIndex = -1)
    {
        RequireNonEmpty(vocabulary, nameof(vocabulary));
        RequireDistinct(vocabulary, nameof(vocabulary));
        // int64 columns get an exact int64 vocabulary (doubles would round ids above 2^53).
        var vocab = x.ElementType == OnnxElementType.Int64 ? Constant(vocabulary.ToArray()) : VectorLike(x, vocabulary.Select(v => (double)v).ToArray());
        var matches = Cast(Equal(x, vocab), OnnxElementType.Int64);
        var position = ArgMax(matches, axis: -1, keepDims: true);
        var found = Greater(ReduceSum(matches, [-1], keepDims: true), Constant(0L));
        return Where(found, position, Constant(defaultIndex));
    }

    /// <summary>
    /// Bucket index of x [batch, 1] given ascending <paramref name="boundaries"/> [B]: the number of
    /// boundaries &lt;= x, as int64 [batch, 1], so bucket i holds boundaries[i-1] &lt;= x &lt; boundaries[i]
    /// (tf.Transform's apply_buckets). NaN compares false everywhere and lands in bucket 0.
    /// </summary>
    public OnnxValue Bucketize(OnnxValue x, IReadOnlyList<double> boundaries)
    {
        RequireNonEmpty(boundaries, nameof(boundaries));
        for (var i = 1; i < boundaries.Count; i++)
            if (!(boundaries[i - 1] <= boundaries[i]))
                throw new ArgumentException("Bucket boundaries must be sorted ascending.", nameof(boundaries));
        var atOrAbove = Cast(GreaterOrEqual(x, VectorLike(x, boundaries)), OnnxElementType.Int64);
        return ReduceSum(atOrAbove, [-1], keepDims: true);
    }

    /// <summary>(x - mean) / scale with constants of x's type: z-score or min-max scaling.</summary>
    public OnnxValue Standardize(OnnxValue x, double mean, double scale)
    {
        if (scale == 0 || double.IsNaN(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), "The scale must be non-zero.");
        return Div(Sub(x, ScalarLike(x, mean)), ScalarLike(x, scale));
    }

    private static void RequireNonEmpty<T>(IReadOnlyList<T> values, string name)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (values.Count == 0) throw new ArgumentException("At least one value is needed.", name);
    }

    private static void RequireDistinct<T>(IReadOnlyList<T> values, string name)
    {
        var seen = new HashSet<T>();
        foreach (var v in values)
        {
            if (v is null) throw new ArgumentException("Vocabulary entries must not be null.", name);
            if (!seen.Add(v)) throw new ArgumentException($"Vocabulary entry '{v}' appears twice.", name);
        }
    }
}

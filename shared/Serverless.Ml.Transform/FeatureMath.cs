using Serverless.Ml.Data;

namespace Serverless.Ml.Transform;

/// <summary>
/// The in-process transform. Every formula here has a twin in <see cref="FittedTransform.ExportOnnx"/> doing the
/// same IEEE operations in the same order (double arithmetic, one final cast to float), which is what keeps
/// training and serving equal.
/// </summary>
internal static class FeatureMath
{
    public static void WriteNumeric(FittedFeature f, Column column, double[] scratch, float[] output, int stride)
    {
        var rows = column.Length;
        ColumnValues.All(column, scratch);
        var fill = f.FillValue;
        var clip = f.Spec.Clip;
        var log1p = f.Spec.Log1p;
        var scaled = f.Spec.Kind is FeatureKind.ZScore or FeatureKind.MinMax;
        var center = f.Center;
        var scale = f.Scale;
        var offset = f.Offset;
        for (var i = 0; i < rows; i++)
        {
            var x = scratch[i];
            if (fill is { } v && double.IsNaN(x)) x = v;
            x = Post(x, clip, log1p);
            if (scaled) x = (x - center) / scale;
            output[(long)i * stride + offset] = (float)x;
        }
    }

    public static double Post(double x, ClipSpec? clip, bool log1p)
    {
        if (clip is not null)
        {
            if (clip.Min is { } lo && x < lo) x = lo;
            if (clip.Max is { } hi && x > hi) x = hi;
        }
        return log1p ? Math.Log(x + 1.0) : x;
    }

    public static void WriteImage(FittedFeature f, Float32TensorColumn column, float[] output, int stride)
    {
        var per = column.Spec.ValuesPerRow;
        var min = (float)f.Spec.ImageMin;
        var range = (float)(f.Spec.ImageMax - f.Spec.ImageMin);
        var values = column.Values;
        for (var i = 0; i < column.Length; i++)
        {
            var dst = output.AsSpan((int)((long)i * stride + f.Offset), per);
            if (column.Missing[i]) { dst.Clear(); continue; }
            var src = values.AsSpan(i * per, per);
            for (var j = 0; j < per; j++)
            {
                var y = (src[j] - min) / range;
                if (y < 0f) y = 0f;
                if (y > 1f) y = 1f;
                dst[j] = float.IsNaN(y) ? 0f : y;
            }
        }
    }

    /// <summary>The categorical index per row (-1 = no category).</summary>
    public static long[] Indices(FittedFeature f, Column? column, double[] scratch, long[][]? components, long[]? cardinalities)
    {
        switch (f.Spec.Kind)
        {
            case FeatureKind.Bucketize:
            {
                var rows = column!.Length;
                var result = new long[rows];
                ColumnValues.All(column, scratch);
                var b = f.Boundaries!;
                for (var i = 0; i < rows; i++)
                {
                    var x = scratch[i];
                    if (f.FillValue is { } v && double.IsNaN(x)) x = v;
                    x = Post(x, f.Spec.Clip, f.Spec.Log1p);
                    result[i] = BucketOf(b, x);
                }
                return result;
            }
            case FeatureKind.Cross:
                return CrossIndices(f, components!, cardinalities!);
            default:
                return column switch
                {
                    StringColumn s => StringIndices(f, s),
                    Int64Column l => IntIndices(f, l),
                    _ => throw new InvalidOperationException($"feature '{f.Spec.Name}': column kind {column?.Spec.Kind} has no categories"),
                };
        }
    }

    /// <summary>Number of boundaries &lt;= x (NaN: 0), the ONNX Bucketize helper's rule.</summary>
    public static long BucketOf(double[] boundaries, double x)
    {
        long n = 0;
        foreach (var b in boundaries) if (x >= b) n++;
        return n;
    }

    private static long[] StringIndices(FittedFeature f, StringColumn s)
    {
        var table = f.StringTable!;
        var codeIndex = new long[s.Dictionary.Count];
        for (var c = 0; c < codeIndex.Length; c++)
            codeIndex[c] = table.TryGetValue(s.Dictionary[c], out var v) ? v : f.UnseenStringIndex(s.Dictionary[c]);
        var result = new long[s.Length];
        for (var i = 0; i < result.Length; i++) result[i] = s.Missing[i] ? f.MissingIndex : codeIndex[s.Codes[i]];
        return result;
    }

    private static long[] IntIndices(FittedFeature f, Int64Column l)
    {
        var result = new long[l.Length];
        Dictionary<long, long>? vocab = f.IntVocabulary is null ? null : IntVocabularyIndex(f);
        for (var i = 0; i < result.Length; i++)
        {
            var x = l.Values[i];
            if (l.Missing[i] || x == ColumnValues.MissingInt64) { result[i] = f.MissingIndex; continue; }
            result[i] = IntIndex(f, vocab, x);
        }
        return result;
    }

    public static Dictionary<long, long> IntVocabularyIndex(FittedFeature f) =>
        f.IntVocabulary!.Select((v, i) => (v, i)).ToDictionary(p => p.v, p => (long)p.i);

    /// <summary>Index of a present int64 value (vocabulary with hashed OOV, or hash buckets).</summary>
    public static long IntIndex(FittedFeature f, Dictionary<long, long>? vocab, long x)
    {
        if (f.Spec.Kind == FeatureKind.Hash) return StableHash.Int64Bucket(x, f.Spec.HashBuckets!.Value);
        if (vocab!.TryGetValue(x, out var idx)) return idx;
        return f.Spec.NumOovBuckets > 0 ? vocab.Count + StableHash.Int64Bucket(x, f.Spec.NumOovBuckets) : -1;
    }

    private static long[] CrossIndices(FittedFeature f, long[][] components, long[] cardinalities)
    {
        var rows = components[0].Length;
        var result = new long[rows];
        for (var i = 0; i < rows; i++)
        {
            long id = 0;
            var none = false;
            for (var k = 0; k < components.Length; k++)
            {
                var c = components[k][i];
                if (c < 0) none = true;
                id = id * cardinalities[k] + c;
            }
            result[i] = none ? -1 : f.Spec.HashBuckets is { } hb ? StableHash.Int64Bucket(id, hb) : id;
        }
        return result;
    }

    public static void WriteCategorical(FittedFeature f, long[] indices, int rows, float[] output, int stride)
    {
        if (f.Spec.Encode == CategoricalEncoding.Index)
        {
            for (var i = 0; i < rows; i++) output[(long)i * stride + f.Offset] = indices[i];
            return;
        }
        for (var i = 0; i < rows; i++)
        {
            var idx = indices[i];
            if (idx >= 0 && idx < f.Cardinality) output[(long)i * stride + f.Offset + idx] = 1f;
        }
    }

    public static float[] Labels(FittedLabel label, Column column)
    {
        var rows = column.Length;
        var result = new float[rows];
        if (label.Spec.Kind == LabelKind.Regression)
        {
            var values = new double[rows];
            ColumnValues.All(column, values);
            for (var i = 0; i < rows; i++) result[i] = (float)values[i];
            return result;
        }
        switch (column)
        {
            case StringColumn s:
                var index = label.Classes!.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
                for (var i = 0; i < rows; i++) result[i] = s.GetString(i) is { } v && index.TryGetValue(v, out var k) ? k : -1;
                break;
            case Int64Column l:
                var ix = label.IntClasses!.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
                for (var i = 0; i < rows; i++) result[i] = !l.Missing[i] && ix.TryGetValue(l.Values[i], out var k) ? k : -1;
                break;
            default:
                throw new InvalidOperationException($"label column '{column.Spec.Name}' is {column.Spec.Kind}");
        }
        return result;
    }
}

using Google.Protobuf;
using System.Text.Json;
using Serverless.Ml.Data;
using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Proto;

namespace Serverless.Ml.Transform;

public sealed partial class FittedTransform
{
    /// <summary>
    /// The transform as an ONNX model (opset 17, ai.onnx.ml 3): one input per raw column (<see cref="RawInputs"/>,
    /// [batch, 1] of double / int64 / string, images [batch, shape...] float), one output <c>features</c>
    /// float [batch, <see cref="Width"/>] laid out as <see cref="Layout"/> (also stored as model metadata
    /// <c>transform.layout</c>). Missing values at serving: NaN, long.MinValue, "" (see README).
    /// </summary>
    public byte[] ExportOnnx() => BuildOnnx().ToByteArray();

    /// <summary>The ONNX model as a message, e.g. for <see cref="OnnxModelMerger.Merge"/> with the trained model.</summary>
    public ModelProto BuildOnnx()
    {
        var g = new OnnxGraphBuilder("transform");
        var inputs = new Dictionary<string, OnnxValue>(StringComparer.Ordinal);
        foreach (var c in RawInputs)
        {
            var type = c.Kind switch
            {
                ColumnKind.Float64 => OnnxElementType.Double,
                ColumnKind.Int64 => OnnxElementType.Int64,
                ColumnKind.String => OnnxElementType.String,
                ColumnKind.Float32Tensor => OnnxElementType.Float,
                _ => throw new InvalidOperationException($"column '{c.Name}' of kind {c.Kind} cannot be an ONNX input"),
            };
            OnnxDim[] shape = c.Kind == ColumnKind.Float32Tensor ? [OnnxDim.Batch, .. c.Shape.Select(d => OnnxDim.Fixed(d))] : [OnnxDim.Batch, 1];
            inputs[c.Name] = g.Input(c.Name, type, shape);
        }

        var indices = new Dictionary<string, OnnxValue>(StringComparer.Ordinal);
        var parts = new List<OnnxValue>();
        foreach (var f in Features)
        {
            OnnxValue part;
            if (f.IsCategorical)
            {
                var idx = f.Spec.Kind == FeatureKind.Cross
                    ? CrossIndex(g, f, indices)
                    : f.Spec.Kind == FeatureKind.Bucketize
                        ? g.Bucketize(NumericValue(g, f, inputs[f.Spec.Column]), f.Boundaries!)
                        : inputs[f.Spec.Column].ElementType == OnnxElementType.String
                            ? StringIndex(g, f, inputs[f.Spec.Column])
                            : IntIndex(g, f, inputs[f.Spec.Column]);
                indices[f.Spec.Name] = idx;
                if (!f.Spec.Output) continue;
                part = f.Spec.Encode == CategoricalEncoding.Index
                    ? g.Cast(idx, OnnxElementType.Float)
                    : g.Cast(g.Equal(idx, g.Constant(Enumerable.Range(0, checked((int)f.Cardinality)).Select(i => (long)i).ToArray())), OnnxElementType.Float);
            }
            else if (f.Spec.Kind == FeatureKind.Image)
            {
                part = Image(g, f, inputs[f.Spec.Column]);
            }
            else
            {
                var x = NumericValue(g, f, inputs[f.Spec.Column]);
                if (f.Spec.Kind is FeatureKind.ZScore or FeatureKind.MinMax) x = g.Div(g.Sub(x, g.ScalarLike(x, f.Center)), g.ScalarLike(x, f.Scale));
                part = g.Cast(x, OnnxElementType.Float);
            }
            parts.Add(part);
        }
        var features = parts.Count == 1 ? g.Identity(parts[0]) : g.Concat(1, [.. parts]);
        g.Output(features, FeaturesOutputName, OnnxDim.Batch, Width);
        g.SetMetadata("transform.layout", JsonSerializer.Serialize(Layout, TransformSpec.JsonOptions));
        g.SetMetadata("transform.producer", "Serverless.Ml.Transform");
        return g.Build();
    }

    /// <summary>Raw numeric column -> double after fill, clip and log1p (twin of FeatureMath.WriteNumeric).</summary>
    private static OnnxValue NumericValue(OnnxGraphBuilder g, FittedFeature f, OnnxValue input)
    {
        OnnxValue x, missing;
        if (input.ElementType == OnnxElementType.Int64)
        {
            missing = g.Equal(input, g.Constant(ColumnValues.MissingInt64));
            x = g.Cast(input, OnnxElementType.Double);
        }
        else
        {
            x = input;
            missing = g.IsNaN(x);
        }
        x = g.Where(missing, g.Initializer(null, [f.FillValue ?? double.NaN]), x);
        if (f.Spec.Clip is { } clip)
        {
            // Where instead of Clip: NaN must pass through unchanged, as in the in-process comparison.
            if (clip.Min is { } lo) x = g.Where(g.Less(x, g.ScalarLike(x, lo)), g.ScalarLike(x, lo), x);
            if (clip.Max is { } hi) x = g.Where(g.Greater(x, g.ScalarLike(x, hi)), g.ScalarLike(x, hi), x);
        }
        if (f.Spec.Log1p) x = g.Log(g.Add(x, g.ScalarLike(x, 1.0)));
        return x;
    }

    private static OnnxValue Image(OnnxGraphBuilder g, FittedFeature f, OnnxValue input)
    {
        var flat = g.Flatten(input, 1);
        var y = g.Div(g.Sub(flat, g.ScalarLike(flat, (float)f.Spec.ImageMin)), g.ScalarLike(flat, (float)(f.Spec.ImageMax - f.Spec.ImageMin)));
        var zero = g.ScalarLike(y, 0);
        var one = g.ScalarLike(y, 1);
        y = g.Where(g.Less(y, zero), zero, y);
        y = g.Where(g.Greater(y, one), one, y);
        return g.Where(g.IsNaN(y), zero, y);
    }

    /// <summary>
    /// String -> index: one ai.onnx.ml LabelEncoder holding the fitted table ("" = missing included); strings outside
    /// it, when the feature hashes them, go through ONNX Runtime's MurmurHash3 (twin of FittedFeature.UnseenStringIndex).
    /// </summary>
    private static OnnxValue StringIndex(OnnxGraphBuilder g, FittedFeature f, OnnxValue input)
    {
        const long unseen = long.MinValue; // no table value is negative below -1
        var table = f.StringTable!.OrderBy(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        var idx = g.Node("LabelEncoder", [input], OnnxElementType.Int64,
        [
            OnnxAttribute.Strings("keys_strings", table.Select(kv => kv.Key)),
            OnnxAttribute.Ints("values_int64s", table.Select(kv => kv.Value)),
            OnnxAttribute.Int("default_int64", f.HashesUnseenStrings ? unseen : f.DefaultIndex),
        ], OnnxVersions.MlDomain);
        if (!f.HashesUnseenStrings) return idx;
        var hash = g.Cast(g.MurmurHash3(input), OnnxElementType.Int64);
        var bucket = f.Spec.Kind == FeatureKind.Hash
            ? Mod(g, hash, f.Spec.HashBuckets!.Value)
            : g.Add(Mod(g, hash, f.Spec.NumOovBuckets), g.Constant((long)f.Vocabulary!.Length));
        return g.Where(g.Equal(idx, g.Constant(unseen)), bucket, idx);
    }

    /// <summary>Int64 -> index: vocabulary LabelEncoder, hashed OOV buckets, or plain hash buckets; missing by the sentinel.</summary>
    private static OnnxValue IntIndex(OnnxGraphBuilder g, FittedFeature f, OnnxValue x)
    {
        OnnxValue idx;
        if (f.Spec.Kind == FeatureKind.Hash)
        {
            idx = Mod(g, Hash(g, x), f.Spec.HashBuckets!.Value);
        }
        else
        {
            var vocab = f.IntVocabulary!;
            var oov = f.Spec.NumOovBuckets > 0 ? g.Add(Mod(g, Hash(g, x), f.Spec.NumOovBuckets), g.Constant((long)vocab.Length)) : (OnnxValue?)null;
            if (vocab.Length == 0)
            {
                idx = oov ?? throw new InvalidOperationException($"feature '{f.Spec.Name}': empty vocabulary without OOV buckets");
            }
            else
            {
                idx = g.Node("LabelEncoder", [x], OnnxElementType.Int64,
                [
                    OnnxAttribute.Ints("keys_int64s", vocab),
                    OnnxAttribute.Ints("values_int64s", Enumerable.Range(0, vocab.Length).Select(i => (long)i)),
                    OnnxAttribute.Int("default_int64", -1),
                ], OnnxVersions.MlDomain);
                if (oov is { } o) idx = g.Where(g.Less(idx, g.Constant(0L)), o, idx);
            }
        }
        return g.Where(g.Equal(x, g.Constant(ColumnValues.MissingInt64)), g.Constant(f.MissingIndex), idx);
    }

    private OnnxValue CrossIndex(OnnxGraphBuilder g, FittedFeature f, Dictionary<string, OnnxValue> indices)
    {
        var comps = f.Spec.Components!.Select(c => indices[c]).ToArray();
        var cards = f.Spec.Components!.Select(c => GetFeature(c).Cardinality).ToArray();
        var id = comps[0];
        for (var k = 1; k < comps.Length; k++) id = g.Add(g.Mul(id, g.Constant(cards[k])), comps[k]);
        if (f.Spec.HashBuckets is { } hb) id = Mod(g, Hash(g, id), hb);
        var min = g.Node("Min", [.. comps.Cast<OnnxValue?>()], OnnxElementType.Int64);
        return g.Where(g.Less(min, g.Constant(0L)), g.Constant(-1L), id);
    }

    /// <summary>StableHash.Int64 in ONNX ops: every intermediate below 2^62, so int64 arithmetic is exact.</summary>
    private static OnnxValue Hash(OnnxGraphBuilder g, OnnxValue x)
    {
        var r = Mod(g, x, StableHash.Prime);
        return Mod(g, g.Add(g.Mul(r, g.Constant(StableHash.Multiplier)), g.Constant(StableHash.Offset)), StableHash.Prime);
    }

    /// <summary>Floor modulo (fmod = 0: the result takes the divisor's sign, so it is in [0, m) for m &gt; 0).</summary>
    private static OnnxValue Mod(OnnxGraphBuilder g, OnnxValue x, long m) =>
        g.Node("Mod", [x, g.Constant(m)], OnnxElementType.Int64, [OnnxAttribute.Int("fmod", 0)]);
}

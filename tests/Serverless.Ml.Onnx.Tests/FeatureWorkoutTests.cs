using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Onnx.Testing;

namespace Serverless.Ml.Onnx.Tests;

// The preprocessing helpers Transform exports, through the workout.
public sealed class FeatureWorkoutTests
{
    [Fact]
    public void Lookup_StringVocabularyWithUnknowns_ReturnsIndexOrDefault()
    {
        string[] vocab = ["berlin", "lisbon", "oslo", "paris", "zürich"];
        string[] x = ["oslo", "paris", "tokyo", "", "zürich", "berlin", "Paris"];
        var g = new OnnxGraphBuilder("lookup");
        var city = g.Input("city", OnnxElementType.String, OnnxDim.Batch, 1);
        g.Output(g.Lookup(city, vocab, defaultIndex: vocab.Length), "index"); // OOV bucket after the vocabulary
        var expected = x.Select(s => Array.IndexOf(vocab, s) is var i && i >= 0 ? (long)i : vocab.Length).ToArray();
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("city", x, x.Length, 1)], [NamedTensor.Create("index", expected, x.Length, 1)]);
        Assert.Equal([2L, 3L, 5L, 5L, 4L, 0L, 5L], expected);
    }

    [Fact]
    public void MurmurHash3_Strings_MatchReferenceVectorsInOnnxRuntime()
    {
        // MurmurHash3 x86 32 reference values (SMHasher's: "" seed 1 = 0x514E28B7); "héllo" has multi-byte UTF-8.
        string[] x = ["", "a", "hello", "héllo"];
        var g = new OnnxGraphBuilder("hash");
        var s = g.Input("s", OnnxElementType.String, OnnxDim.Batch, 1);
        g.Output(g.Cast(g.MurmurHash3(s), OnnxElementType.Int64), "h0");
        g.Output(g.Cast(g.MurmurHash3(s, seed: 1), OnnxElementType.Int64), "h1");
        var model = g.Build();
        Assert.Contains(model.OpsetImport, o => o.Domain == OnnxVersions.MicrosoftDomain && o.Version == OnnxVersions.MicrosoftOpset);
        using var session = InferenceSession.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(model));
        var result = session.Run([NamedTensor.Create("s", x, x.Length, 1)]);
        Assert.Equal([0L, 1009084850L, 613153351L, 3164577896L], result.Get("h0").GetData<long>());
        Assert.Equal(0x514E28B7L, result.Get("h1").GetData<long>()[0]);
    }

    [Fact]
    public void Lookup_Int64VocabularyWithUnknowns_ReturnsIndexOrDefault()
    {
        long[] vocab = [3, 10, 42, (1L << 53) + 1];
        long[] x = [42, 3, 7, (1L << 53) + 1, 10, -1];
        var g = new OnnxGraphBuilder("lookup");
        var code = g.Input("code", OnnxElementType.Int64, OnnxDim.Batch, 1);
        g.Output(g.Lookup(code, vocab), "index");
        long[] expected = [2, 0, -1, 3, 1, -1];
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("code", x, x.Length, 1)], [NamedTensor.Create("index", expected, x.Length, 1)]);
    }

    [Fact]
    public void OneHot_FloatCategories_ComparesWithConstantVector()
    {
        float[] x = [1f, 2f, 5f, 2f];
        var g = new OnnxGraphBuilder("onehot");
        var v = g.Input("v", OnnxElementType.Float, OnnxDim.Batch, 1);
        g.Output(g.OneHot(v, [1, 2, 3]), "encoded");
        float[] expected = [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0];
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("v", x, 4, 1)], [NamedTensor.Create("encoded", expected, 4, 3)]);
    }

    [Fact]
    public void OneHot_StringVocabulary_UnknownIsAllZeros()
    {
        string[] x = ["b", "zz", "a"];
        var g = new OnnxGraphBuilder("onehot");
        var v = g.Input("v", OnnxElementType.String, OnnxDim.Batch, 1);
        g.Output(g.OneHot(v, ["a", "b"], OnnxElementType.Double), "encoded");
        double[] expected = [0, 1, 0, 0, 1, 0];
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("v", x, 3, 1)], [NamedTensor.Create("encoded", expected, 3, 2)]);
    }

    [Fact]
    public void Bucketize_ValuesOnAndBetweenBoundaries_CountsBoundariesBelowOrEqual()
    {
        double[] boundaries = [0, 10, 20];
        double[] x = [-5, 0, 5, 10, 19.999, 20, 1e9, double.NaN];
        var g = new OnnxGraphBuilder("buckets");
        var v = g.Input("v", OnnxElementType.Double, OnnxDim.Batch, 1);
        g.Output(g.Bucketize(v, boundaries), "bucket");
        long[] expected = [0, 1, 1, 2, 2, 3, 3, 0];
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("v", x, x.Length, 1)], [NamedTensor.Create("bucket", expected, x.Length, 1)]);
    }

    [Fact]
    public void FillNaNThenStandardize_MissingValues_ImputedAndScaled()
    {
        float[] x = [1f, float.NaN, 3f];
        var g = new OnnxGraphBuilder("scale");
        var v = g.Input("v", OnnxElementType.Float, OnnxDim.Batch, 1);
        g.Output(g.Standardize(g.FillNaN(v, 2), mean: 2, scale: 0.5), "z");
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("v", x, 3, 1)], [NamedTensor.Create("z", new[] { -2f, 0f, 2f }, 3, 1)]);
    }

    [Fact]
    public void Lookup_DuplicateVocabularyEntry_Throws()
    {
        var g = new OnnxGraphBuilder();
        var v = g.Input("v", OnnxElementType.String, OnnxDim.Batch, 1);
        var e = Assert.Throws<ArgumentException>(() => g.Lookup(v, ["a", "b", "a"]));
        Assert.Contains("'a' appears twice", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lookup_StringVocabularyOnNumericInput_Throws()
    {
        var g = new OnnxGraphBuilder();
        var v = g.Input("v", OnnxElementType.Float, OnnxDim.Batch, 1);
        Assert.Throws<ArgumentException>(() => g.Lookup(v, ["a"]));
    }

    [Fact]
    public void Bucketize_UnsortedBoundaries_Throws()
    {
        var g = new OnnxGraphBuilder();
        var v = g.Input("v", OnnxElementType.Float, OnnxDim.Batch, 1);
        Assert.Throws<ArgumentException>(() => g.Bucketize(v, [1, 3, 2]));
    }
}

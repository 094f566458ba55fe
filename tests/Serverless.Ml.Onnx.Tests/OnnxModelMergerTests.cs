using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Proto;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Onnx.Testing;

namespace Serverless.Ml.Onnx.Tests;

public sealed class OnnxModelMergerTests
{
    private static readonly string[] Cities = ["berlin", "lisbon", "oslo"];

    /// <summary>A Transform-like graph: (city string, age float with NaN, income double) -> features float [batch, 7].</summary>
    private static OnnxGraphBuilder Transform()
    {
        var g = new OnnxGraphBuilder("transform");
        var city = g.Input("city", OnnxElementType.String, OnnxDim.Batch, 1);
        var age = g.Input("age", OnnxElementType.Float, OnnxDim.Batch, 1);
        var income = g.Input("income", OnnxElementType.Double, OnnxDim.Batch, 1);
        var cityHot = g.OneHot(city, Cities);                                           // [N, 3]
        var ageZ = g.Standardize(g.FillNaN(age, 40), mean: 40, scale: 10);              // [N, 1]
        var incomeLog = g.Cast(g.Log(g.Add(income, g.ScalarLike(income, 1))), OnnxElementType.Float);
        var ageBucket = g.Cast(g.Bucketize(age, [18, 65]), OnnxElementType.Float);     // [N, 1]
        var young = g.OneHot(g.Bucketize(age, [18, 65]), [0]);                         // [N, 1] (int64 in, float out)
        g.Output(g.Concat(1, cityHot, ageZ, incomeLog, ageBucket, young), "features", OnnxDim.Batch, 7);
        return g;
    }

    private static float[] TransformReference(string[] city, float[] age, double[] income)
    {
        var rows = city.Length;
        var f = new float[rows * 7];
        for (var r = 0; r < rows; r++)
        {
            var i = Array.IndexOf(Cities, city[r]);
            for (var c = 0; c < 3; c++) f[r * 7 + c] = i == c ? 1 : 0;
            var a = float.IsNaN(age[r]) ? 40f : age[r];
            f[r * 7 + 3] = (a - 40f) / 10f;
            f[r * 7 + 4] = (float)Math.Log(income[r] + 1);
            var bucket = float.IsNaN(age[r]) ? 0 : age[r] >= 65 ? 2 : age[r] >= 18 ? 1 : 0;
            f[r * 7 + 5] = bucket;
            f[r * 7 + 6] = bucket == 0 ? 1 : 0;
        }
        return f;
    }

    [Fact]
    public void Merge_TransformIntoMlp_RawFeaturesInPredictionsOut()
    {
        var (mlp, mlpReference) = Models.Mlp(inputs: 7, inputName: "features");
        var merged = OnnxModelMerger.Merge(Transform().Build(), mlp.Build());

        string[] city = ["oslo", "paris", "berlin", "lisbon"];
        float[] age = [25f, float.NaN, 70f, 12f];
        double[] income = [30000, 0, 125000.5, 9];
        var expected = mlpReference(TransformReference(city, age, income), 4);
        OnnxWorkout.AssertMatches(merged,
            [NamedTensor.Create("city", city, 4, 1), NamedTensor.Create("age", age, 4, 1), NamedTensor.Create("income", income, 4, 1)],
            [NamedTensor.Create("probabilities", expected, 4, 3)]);

        Assert.Equal(["city", "age", "income"], merged.Graph.Input.Select(i => i.Name));
        Assert.Equal(["probabilities"], merged.Graph.Output.Select(o => o.Name));
        Assert.Contains(merged.OpsetImport, o => o.Domain == OnnxVersions.MlDomain);
    }

    [Fact]
    public void Merge_ExplicitConnectionKeepFirstOutputs_ExposesBoth()
    {
        var (mlp, mlpReference) = Models.Mlp(inputs: 7, inputName: "x");
        var merged = OnnxModelMerger.Merge(Transform().Build(), mlp.Build(), new Dictionary<string, string> { ["features"] = "x" },
            new OnnxMergeOptions { FirstPrefix = "t/", SecondPrefix = "m/", KeepFirstOutputs = true });

        string[] city = ["lisbon"];
        float[] age = [33f];
        double[] income = [1000];
        var features = TransformReference(city, age, income);
        OnnxWorkout.AssertMatches(merged,
            [NamedTensor.Create("city", city, 1, 1), NamedTensor.Create("age", age, 1, 1), NamedTensor.Create("income", income, 1, 1)],
            [NamedTensor.Create("features", features, 1, 7), NamedTensor.Create("probabilities", mlpReference(features, 1), 1, 3)]);

        var initializers = merged.Graph.Initializer.Select(t => t.Name).ToList();
        Assert.All(initializers, n => Assert.True(n.StartsWith("t/", StringComparison.Ordinal) || n.StartsWith("m/", StringComparison.Ordinal), n));
        Assert.Contains("m/w1", initializers);
        Assert.All(merged.Graph.Node, n => Assert.True(n.Name.StartsWith("t/", StringComparison.Ordinal) || n.Name.StartsWith("m/", StringComparison.Ordinal), n.Name));
    }

    [Fact]
    public void Merge_SameInternalNamesInBothModels_PrefixesAvoidClash()
    {
        // Two identical MLPs (same initializer and node names) chained: 7 -> 3 then 3 -> 2.
        var (a, refA) = Models.Mlp(inputs: 7, outputs: 3, outputName: "h", seed: 5);
        var (b, refB) = Models.Mlp(inputs: 3, outputs: 2, inputName: "h", outputName: "y", seed: 9);
        var merged = OnnxModelMerger.Merge(a.Build(), b.Build());
        var x = Reference.Random(2 * 7, 77);
        OnnxWorkout.AssertMatches(merged, [NamedTensor.Create("x", x, 2, 7)], [NamedTensor.Create("y", refB(refA(x, 2), 2), 2, 2)]);
    }

    [Fact]
    public void Merge_DifferentOpsets_Throws()
    {
        var first = Models.Mlp(outputName: "h").Builder.Build();
        var g = new OnnxGraphBuilder("second", opset: 18);
        g.Output(g.Relu(g.Input("h", OnnxElementType.Float, OnnxDim.Batch, 3)), "y");
        var e = Assert.Throws<ArgumentException>(() => OnnxModelMerger.Merge(first, g.Build()));
        Assert.Contains("different versions of operator set 'ai.onnx' (17 and 18)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Merge_ConnectionTypeMismatch_Throws()
    {
        var first = Models.Mlp(outputName: "h").Builder.Build();
        var g = new OnnxGraphBuilder("second");
        g.Output(g.Identity(g.Input("h", OnnxElementType.Double, OnnxDim.Batch, 3)), "y");
        var e = Assert.Throws<ArgumentException>(() => OnnxModelMerger.Merge(first, g.Build()));
        Assert.Contains("Type mismatch", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Merge_NoMatchingNames_ThrowsAskingForConnections()
    {
        var first = Models.Mlp(outputName: "h").Builder.Build();
        var second = Models.Mlp(inputs: 3, inputName: "other", outputName: "y").Builder.Build();
        Assert.Throws<ArgumentException>(() => OnnxModelMerger.Merge(first, second));
        Assert.Throws<ArgumentException>(() => OnnxModelMerger.Merge(first, second, new Dictionary<string, string> { ["nope"] = "other" }));
    }

    [Fact]
    public void Merge_BothOutputSameNameWhenKept_Throws()
    {
        var (a, _) = Models.Mlp(outputName: "y");
        var g = new OnnxGraphBuilder("second");
        g.Output(g.Relu(g.Input("y", OnnxElementType.Float, OnnxDim.Batch, 3)), "y2");
        var second = g.Build();
        second.Graph.Output[0].Name = "y";
        second.Graph.Node[^1].Output[0] = "y";
        var e = Assert.Throws<ArgumentException>(() =>
            OnnxModelMerger.Merge(a.Build(), second, new Dictionary<string, string> { ["y"] = "y" }, new OnnxMergeOptions { KeepFirstOutputs = true }));
        Assert.Contains("Both models output 'y'", e.Message, StringComparison.Ordinal);
    }
}

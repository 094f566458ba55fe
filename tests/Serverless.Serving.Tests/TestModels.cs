using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Runtime;

namespace Serverless.Serving.Tests;

/// <summary>Small ONNX models built for the tests: a penguins-like classifier (raw CSV columns in), a string echo, a regressor.</summary>
internal static class TestModels
{
    public static readonly string[] Islands = ["Biscoe", "Dream", "Torgersen"];
    public static readonly string[] Species = ["Adelie", "Chinstrap", "Gentoo"];

    /// <summary>island, sex (strings) and four numeric columns [batch,1] -> probabilities [batch,3]. body_mass_g is imputed (NaN allowed).</summary>
    public static byte[] Penguins(int seed)
    {
        var rng = new Random(seed);
        float[] W(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var g = new OnnxGraphBuilder("penguins");
        var island = g.Input("island", OnnxElementType.String, OnnxDim.Batch, 1);
        var sex = g.Input("sex", OnnxElementType.String, OnnxDim.Batch, 1);
        var bill = g.Input("bill_length_mm", OnnxElementType.Float, OnnxDim.Batch, 1);
        var depth = g.Input("bill_depth_mm", OnnxElementType.Float, OnnxDim.Batch, 1);
        var flipper = g.Input("flipper_length_mm", OnnxElementType.Float, OnnxDim.Batch, 1);
        var mass = g.Input("body_mass_g", OnnxElementType.Float, OnnxDim.Batch, 1);
        var features = g.Concat(1,
            g.OneHot(island, Islands),
            g.OneHot(sex, ["female", "male"]),
            g.Standardize(bill, 44, 5.5),
            g.Standardize(depth, 17, 2),
            g.Standardize(flipper, 200, 14),
            g.Standardize(g.FillNaN(mass, 4200), 4200, 800));
        var h = g.Relu(g.Gemm(features, g.Initializer("w1", W(9 * 8), 9, 8), g.Initializer("b1", W(8), 8)));
        var p = g.Softmax(g.Gemm(h, g.Initializer("w2", W(8 * 3), 8, 3), g.Initializer("b2", W(3), 3)));
        g.Output(p, "probabilities", OnnxDim.Batch, 3);
        g.SetMetadata(ModelClassLabels.MetadataKey, string.Join(',', Species));
        return g.ToBytes();
    }

    /// <summary>One string input "text" [batch,1] -> "text_bytes" (identity), for b64.</summary>
    public static byte[] Echo()
    {
        var g = new OnnxGraphBuilder("echo");
        var t = g.Input("text", OnnxElementType.String, OnnxDim.Batch, 1);
        g.Output(g.Identity(t), "text_bytes", OnnxDim.Batch, 1);
        return g.ToBytes();
    }

    /// <summary>One float input "x" [batch,3] -> "value" [batch,1] = x·(1,2,3) + 0.5.</summary>
    public static byte[] Regressor()
    {
        var g = new OnnxGraphBuilder("reg");
        var x = g.Input("x", OnnxElementType.Float, OnnxDim.Batch, 3);
        g.Output(g.Gemm(x, g.Initializer("w", [1f, 2f, 3f], 3, 1), g.Initializer("b", [0.5f], 1)), "value", OnnxDim.Batch, 1);
        return g.ToBytes();
    }

    public sealed record PenguinRow(string Island, string Sex, float Bill, float Depth, float Flipper, float Mass)
    {
        public string ToJson() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $$"""{"island":"{{Island}}","sex":"{{Sex}}","bill_length_mm":{{Bill}},"bill_depth_mm":{{Depth}},"flipper_length_mm":{{Flipper}},"body_mass_g":{{Mass}}}""");
    }

    public static PenguinRow Row(int i) => new(Islands[i % 3], i % 2 == 0 ? "male" : "female", 35 + i % 20, 14 + i % 7, 180 + i % 40, 3000 + 37 * (i % 60));

    /// <summary>The reference: one row through a plain session.</summary>
    public static float[] Direct(InferenceSession session, PenguinRow r) => session.Run(
    [
        NamedTensor.Create("island", [r.Island], 1, 1),
        NamedTensor.Create("sex", [r.Sex], 1, 1),
        NamedTensor.Create("bill_length_mm", [r.Bill], 1, 1),
        NamedTensor.Create("bill_depth_mm", [r.Depth], 1, 1),
        NamedTensor.Create("flipper_length_mm", [r.Flipper], 1, 1),
        NamedTensor.Create("body_mass_g", [r.Mass], 1, 1),
    ]).Get("probabilities").GetData<float>();
}

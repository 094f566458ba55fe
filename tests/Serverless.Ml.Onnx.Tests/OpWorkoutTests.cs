using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Onnx.Testing;

namespace Serverless.Ml.Onnx.Tests;

// Every op helper through the workout: build in C#, save, reload, run in ONNX Runtime, compare with C#.
public sealed class OpWorkoutTests
{
    private const int Rows = 4;

    private static (OnnxGraphBuilder G, OnnxValue X) FloatGraph(int cols = 3, string name = "x")
    {
        var g = new OnnxGraphBuilder("op");
        return (g, g.Input(name, OnnxElementType.Float, OnnxDim.Batch, cols));
    }

    [Theory]
    [InlineData("Relu")]
    [InlineData("Sigmoid")]
    [InlineData("Tanh")]
    [InlineData("Log")]
    [InlineData("Exp")]
    [InlineData("Floor")]
    [InlineData("Sqrt")]
    [InlineData("Abs")]
    [InlineData("Neg")]
    [InlineData("Identity")]
    public void UnaryOp_RandomInput_MatchesReference(string op)
    {
        var positiveOnly = op is "Log" or "Sqrt";
        var x = Reference.Random(Rows * 3, 7, scale: 3f);
        if (positiveOnly) x = Reference.Map(x, v => Math.Abs(v) + 0.01f);
        var (g, input) = FloatGraph();
        var y = op switch
        {
            "Relu" => g.Relu(input),
            "Sigmoid" => g.Sigmoid(input),
            "Tanh" => g.Tanh(input),
            "Log" => g.Log(input),
            "Exp" => g.Exp(input),
            "Floor" => g.Floor(input),
            "Sqrt" => g.Sqrt(input),
            "Abs" => g.Abs(input),
            "Neg" => g.Neg(input),
            _ => g.Identity(input),
        };
        Func<float, float> f = op switch
        {
            "Relu" => v => Math.Max(v, 0),
            "Sigmoid" => Reference.Sigmoid,
            "Tanh" => v => (float)Math.Tanh(v),
            "Log" => v => (float)Math.Log(v),
            "Exp" => v => (float)Math.Exp(v),
            "Floor" => v => (float)Math.Floor(v),
            "Sqrt" => v => (float)Math.Sqrt(v),
            "Abs" => Math.Abs,
            "Neg" => v => -v,
            _ => v => v,
        };
        g.Output(y, "y");
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("x", x, Rows, 3)], [NamedTensor.Create("y", Reference.Map(x, f), Rows, 3)]);
    }

    [Theory]
    [InlineData("Add")]
    [InlineData("Sub")]
    [InlineData("Mul")]
    [InlineData("Div")]
    public void BinaryOp_BroadcastRowVector_MatchesReference(string op)
    {
        var x = Reference.Random(Rows * 3, 3);
        float[] c = [0.5f, -2f, 4f];
        var (g, input) = FloatGraph();
        var k = g.Constant(c);
        var y = op switch { "Add" => g.Add(input, k), "Sub" => g.Sub(input, k), "Mul" => g.Mul(input, k), _ => g.Div(input, k) };
        Func<float, float, float> f = op switch { "Add" => (a, b) => a + b, "Sub" => (a, b) => a - b, "Mul" => (a, b) => a * b, _ => (a, b) => a / b };
        g.Output(y, "y");
        var expected = x.Select((v, i) => f(v, c[i % 3])).ToArray();
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("x", x, Rows, 3)], [NamedTensor.Create("y", expected, Rows, 3)]);
    }

    [Fact]
    public void Gemm_TransposedWeightsAlphaBeta_MatchesReference()
    {
        var x = Reference.Random(Rows * 5, 1);
        var w = Reference.Random(2 * 5, 2); // [out=2, in=5], used transposed
        float[] bias = [0.25f, -1f];
        var (g, input) = FloatGraph(5);
        g.Output(g.Gemm(input, g.Initializer("w", w, 2, 5), g.Constant(bias), alpha: 2f, beta: 0.5f, transB: true), "y");
        var expected = Reference.MatMul(x, w, Rows, 5, 2, transB: true).Select((v, i) => 2 * v + 0.5f * bias[i % 2]).ToArray();
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("x", x, Rows, 5)], [NamedTensor.Create("y", expected, Rows, 2)]);
    }

    [Fact]
    public void MatMul_Batch_MatchesReference()
    {
        var x = Reference.Random(Rows * 5, 4);
        var w = Reference.Random(5 * 3, 5);
        var (g, input) = FloatGraph(5);
        g.Output(g.MatMul(input, g.Initializer("w", w, 5, 3)), "y");
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("x", x, Rows, 5)], [NamedTensor.Create("y", Reference.MatMul(x, w, Rows, 5, 3), Rows, 3)]);
    }

    [Fact]
    public void Softmax_LastAxis_RowsSumToOneAndMatchReference()
    {
        var x = Reference.Random(Rows * 6, 8, 5f);
        var (g, input) = FloatGraph(6);
        g.Output(g.Softmax(input), "y");
        var outputs = OnnxWorkout.AssertMatches(g, [NamedTensor.Create("x", x, Rows, 6)], [NamedTensor.Create("y", Reference.SoftmaxRows(x, Rows, 6), Rows, 6)]);
        Assert.Equal(1.0, outputs[0].Tensor.GetData<float>().Take(6).Sum(), 5);
    }

    [Fact]
    public void ConvMaxPoolFlatten_SmallImage_MatchesReference()
    {
        // x [2, 2, 5, 5] * w [3, 2, 3, 3] with padding 1 -> [2, 3, 5, 5] -> MaxPool 2x2/2 -> [2, 3, 2, 2] -> Flatten -> [2, 12]
        const int n = 2, c = 2, h = 5, wd = 5, m = 3, k = 3;
        var x = Reference.Random(n * c * h * wd, 11);
        var w = Reference.Random(m * c * k * k, 12);
        var b = Reference.Random(m, 13);
        var g = new OnnxGraphBuilder("cnn");
        var input = g.Input("image", OnnxElementType.Float, OnnxDim.Batch, c, h, wd);
        var conv = g.Conv(input, g.Initializer("w", w, m, c, k, k), g.Initializer("b", b, m), kernelShape: [k, k], pads: [1, 1, 1, 1]);
        var pooled = g.MaxPool(g.Relu(conv), [2, 2], strides: [2, 2]);
        g.Output(g.Flatten(pooled), "features");

        var convRef = new float[n * m * h * wd];
        for (var ni = 0; ni < n; ni++)
            for (var mi = 0; mi < m; mi++)
                for (var y = 0; y < h; y++)
                    for (var xx = 0; xx < wd; xx++)
                    {
                        double s = b[mi];
                        for (var ci = 0; ci < c; ci++)
                            for (var ky = 0; ky < k; ky++)
                                for (var kx = 0; kx < k; kx++)
                                {
                                    int iy = y + ky - 1, ix = xx + kx - 1;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                    s += x[((ni * c + ci) * h + iy) * wd + ix] * w[((mi * c + ci) * k + ky) * k + kx];
                                }
                        convRef[((ni * m + mi) * h + y) * wd + xx] = Math.Max(0f, (float)s);
                    }
        var pooledRef = new float[n * m * 2 * 2];
        for (var ni = 0; ni < n; ni++)
            for (var mi = 0; mi < m; mi++)
                for (var py = 0; py < 2; py++)
                    for (var px = 0; px < 2; px++)
                    {
                        var best = float.NegativeInfinity;
                        for (var dy = 0; dy < 2; dy++)
                            for (var dx = 0; dx < 2; dx++)
                                best = Math.Max(best, convRef[((ni * m + mi) * h + py * 2 + dy) * wd + px * 2 + dx]);
                        pooledRef[((ni * m + mi) * 2 + py) * 2 + px] = best;
                    }
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("image", x, n, c, h, wd)], [NamedTensor.Create("features", pooledRef, n, 12)]);
    }

    [Fact]
    public void ReshapeConcatSqueezeUnsqueeze_ShapesAndValues_MatchReference()
    {
        var x = Reference.Random(Rows * 6, 21);
        var (g, input) = FloatGraph(6);
        var reshaped = g.Reshape(input, 0, 2, 3);                   // [N, 2, 3]
        var unsq = g.Unsqueeze(reshaped, 1);                       // [N, 1, 2, 3]
        var sq = g.Squeeze(unsq, 1);                               // [N, 2, 3]
        g.Output(g.Concat(1, sq, reshaped), "y");                  // [N, 4, 3]
        var expected = new float[Rows * 12];
        for (var r = 0; r < Rows; r++)
        {
            Array.Copy(x, r * 6, expected, r * 12, 6);
            Array.Copy(x, r * 6, expected, r * 12 + 6, 6);
        }
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("x", x, Rows, 6)], [NamedTensor.Create("y", expected, Rows, 4, 3)]);
    }

    [Fact]
    public void CastClipWhereIsNaN_MixedValues_MatchReference()
    {
        float[] x = [-3.7f, -0.5f, 0.5f, 2.9f, float.NaN, 7.2f];
        var g = new OnnxGraphBuilder("cast");
        var input = g.Input("x", OnnxElementType.Float, OnnxDim.Batch, 1);
        g.Output(g.IsNaN(input), "nan");
        var filled = g.FillNaN(input, -1);
        g.Output(g.Clip(filled, -2, 5), "clipped");
        g.Output(g.Clip(filled, min: 0), "lower");
        var asLong = g.Cast(filled, OnnxElementType.Int64);
        g.Output(asLong, "truncated");
        g.Output(g.Cast(asLong, OnnxElementType.Double), "back");
        var f = x.Select(v => float.IsNaN(v) ? -1f : v).ToArray();
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("x", x, 6, 1)],
        [
            NamedTensor.Create("nan", x.Select(float.IsNaN).ToArray(), 6, 1),
            NamedTensor.Create("clipped", f.Select(v => Math.Clamp(v, -2f, 5f)).ToArray(), 6, 1),
            NamedTensor.Create("lower", f.Select(v => Math.Max(v, 0f)).ToArray(), 6, 1),
            NamedTensor.Create("truncated", f.Select(v => (long)v).ToArray(), 6, 1),
            NamedTensor.Create("back", f.Select(v => (double)(long)v).ToArray(), 6, 1),
        ]);
    }

    [Fact]
    public void Comparisons_AgainstConstant_MatchReference()
    {
        float[] x = [-1f, 0f, 1f, 2f];
        var g = new OnnxGraphBuilder("cmp");
        var input = g.Input("x", OnnxElementType.Float, OnnxDim.Batch, 1);
        var one = g.ScalarLike(input, 1);
        g.Output(g.Equal(input, one), "eq");
        g.Output(g.Less(input, one), "lt");
        g.Output(g.Greater(input, one), "gt");
        g.Output(g.LessOrEqual(input, one), "le");
        g.Output(g.GreaterOrEqual(input, one), "ge");
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("x", x, 4, 1)],
        [
            NamedTensor.Create("eq", x.Select(v => v == 1).ToArray(), 4, 1),
            NamedTensor.Create("lt", x.Select(v => v < 1).ToArray(), 4, 1),
            NamedTensor.Create("gt", x.Select(v => v > 1).ToArray(), 4, 1),
            NamedTensor.Create("le", x.Select(v => v <= 1).ToArray(), 4, 1),
            NamedTensor.Create("ge", x.Select(v => v >= 1).ToArray(), 4, 1),
        ]);
    }

    [Fact]
    public void ArgMaxGatherReduceSum_Rows_MatchReference()
    {
        var x = Reference.Random(Rows * 5, 31);
        var (g, input) = FloatGraph(5);
        var arg = g.ArgMax(input, axis: 1, keepDims: false);                          // [N]
        g.Output(arg, "argmax");
        g.Output(g.Gather(g.Constant(10f, 20f, 30f, 40f, 50f), arg), "gathered");   // [N]
        g.Output(g.Gather(input, g.Constant(4L, 0L), axis: 1), "columns");           // [N, 2]
        g.Output(g.ReduceSum(input, [1], keepDims: false), "rowsum");                // [N]
        g.Output(g.ReduceSum(input), "total");                                       // [1, 1]
        var argmax = Enumerable.Range(0, Rows).Select(r => (long)Array.IndexOf(x, x.Skip(r * 5).Take(5).Max(), r * 5) - r * 5).ToArray();
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("x", x, Rows, 5)],
        [
            NamedTensor.Create("argmax", argmax, Rows),
            NamedTensor.Create("gathered", argmax.Select(i => 10f * (i + 1)).ToArray(), Rows),
            NamedTensor.Create("columns", Enumerable.Range(0, Rows).SelectMany(r => new[] { x[r * 5 + 4], x[r * 5] }).ToArray(), Rows, 2),
            NamedTensor.Create("rowsum", Enumerable.Range(0, Rows).Select(r => x.Skip(r * 5).Take(5).Sum()).ToArray(), Rows),
            NamedTensor.Create("total", [x.Sum()], 1, 1),
        ]);
    }

    [Fact]
    public void DoubleAndInt64Graph_Arithmetic_MatchesReference()
    {
        var d = Reference.RandomDoubles(6, 41, 100);
        long[] l = [1, -2, 3, 1L << 40, 5, 6];
        var g = new OnnxGraphBuilder("types");
        var dx = g.Input("d", OnnxElementType.Double, OnnxDim.Batch);
        var lx = g.Input("l", OnnxElementType.Int64, OnnxDim.Batch);
        g.Output(g.Standardize(dx, mean: 3.5, scale: 2.25), "z");
        g.Output(g.Mul(g.Add(lx, g.ScalarLike(lx, 7)), g.ScalarLike(lx, 3)), "affine");
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("d", d, 6), NamedTensor.Create("l", l, 6)],
        [
            NamedTensor.Create("z", d.Select(v => (v - 3.5) / 2.25).ToArray(), 6),
            NamedTensor.Create("affine", l.Select(v => (v + 7) * 3).ToArray(), 6),
        ], tolerance: 1e-12);
    }

    [Fact]
    public void BoolAndStringInputs_WhereAndIdentity_MatchReference()
    {
        var g = new OnnxGraphBuilder("misc");
        var cond = g.Input("mask", OnnxElementType.Bool, OnnxDim.Batch);
        var s = g.Input("s", OnnxElementType.String, OnnxDim.Batch);
        g.Output(g.Where(cond, g.Constant(1.5f), g.Constant(-1.5f)), "selected");
        g.Output(g.Identity(s), "echo");
        string[] strings = ["", "ascii", "grüße 🌍", "tab\tand\nnewline"];
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("mask", new[] { true, false, false, true }, 4), NamedTensor.Create("s", strings, 4)],
        [
            NamedTensor.Create("selected", new[] { 1.5f, -1.5f, -1.5f, 1.5f }, 4),
            NamedTensor.Create("echo", strings, 4),
        ]);
    }

    [Fact]
    public void Node_GenericEscapeHatch_RunsOpWithoutHelper()
    {
        var (g, input) = FloatGraph();
        var y = g.Node("Pow", [input, g.ScalarLike(input, 2)], OnnxElementType.Float);
        g.Output(y, "y");
        var x = Reference.Random(Rows * 3, 51);
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("x", x, Rows, 3)], [NamedTensor.Create("y", Reference.Map(x, v => v * v), Rows, 3)]);
    }
}

using Serverless.Ml.Onnx.Graph;

namespace Serverless.Ml.Onnx.Tests;

// Small models shared by several tests.
internal static class Models
{
    /// <summary>A 2-layer MLP in -> hidden (relu) -> out (softmax), weights seeded; returns the builder and a C# reference.</summary>
    public static (OnnxGraphBuilder Builder, Func<float[], int, float[]> Reference) Mlp(int inputs = 7, int hidden = 16, int outputs = 3,
        string inputName = "x", string outputName = "probabilities", int seed = 1)
    {
        var w1 = Reference.Random(inputs * hidden, seed);
        var b1 = Reference.Random(hidden, seed + 1);
        var w2 = Reference.Random(hidden * outputs, seed + 2);
        var b2 = Reference.Random(outputs, seed + 3);
        var g = new OnnxGraphBuilder("mlp");
        var x = g.Input(inputName, OnnxElementType.Float, OnnxDim.Batch, inputs);
        var h = g.Relu(g.Gemm(x, g.Initializer("w1", w1, inputs, hidden), g.Initializer("b1", b1, hidden)));
        var y = g.Softmax(g.Gemm(h, g.Initializer("w2", w2, hidden, outputs), g.Initializer("b2", b2, outputs)));
        g.Output(y, outputName, OnnxDim.Batch, outputs);

        float[] Ref(float[] xs, int rows)
        {
            var hidden1 = Reference.Map(Reference.MatMul(xs, w1, rows, inputs, hidden, b1), v => Math.Max(v, 0));
            return Reference.SoftmaxRows(Reference.MatMul(hidden1, w2, rows, hidden, outputs, b2), rows, outputs);
        }
        return (g, Ref);
    }
}

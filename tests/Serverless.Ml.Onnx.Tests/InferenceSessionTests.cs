using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Onnx.Testing;

namespace Serverless.Ml.Onnx.Tests;

public sealed class InferenceSessionTests
{
    [Fact]
    public void Run_Mlp_MatchesReference()
    {
        var (g, reference) = Models.Mlp();
        var x = Reference.Random(5 * 7, 42);
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("x", x, 5, 7)], [NamedTensor.Create("probabilities", reference(x, 5), 5, 3)]);
    }
}

using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Onnx.Testing;

namespace Serverless.Ml.Onnx.Tests;

// The workout must be able to fail: each way an exporter can be wrong is caught.
public sealed class OnnxWorkoutTests
{
    private static OnnxGraphBuilder Doubler()
    {
        var g = new OnnxGraphBuilder("doubler");
        var x = g.Input("x", OnnxElementType.Float, OnnxDim.Batch);
        g.Output(g.Mul(x, g.ScalarLike(x, 2)), "y");
        return g;
    }

    [Fact]
    public void AssertMatches_WrongValue_ThrowsNamingOutputAndIndex()
    {
        var e = Assert.Throws<OnnxWorkoutException>(() =>
            OnnxWorkout.AssertMatches(Doubler(), [NamedTensor.Create("x", new[] { 1f, 2f }, 2)], [NamedTensor.Create("y", new[] { 2f, 5f }, 2)]));
        Assert.Contains("'y'[1]: 4, expected 5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AssertMatches_WithinTolerance_Passes()
    {
        OnnxWorkout.AssertMatches(Doubler(), [NamedTensor.Create("x", new[] { 1f, 1000f }, 2)], [NamedTensor.Create("y", new[] { 2.000005f, 2000.01f }, 2)]);
        Assert.Throws<OnnxWorkoutException>(() =>
            OnnxWorkout.AssertMatches(Doubler(), [NamedTensor.Create("x", new[] { 1f }, 1)], [NamedTensor.Create("y", new[] { 2.0001f }, 1)]));
    }

    [Fact]
    public void AssertMatches_WrongShapeOrType_Throws()
    {
        var shape = Assert.Throws<OnnxWorkoutException>(() =>
            OnnxWorkout.AssertMatches(Doubler(), [NamedTensor.Create("x", new[] { 1f, 2f }, 2)], [NamedTensor.Create("y", new[] { 2f, 4f }, 2, 1)]));
        Assert.Contains("shape [2], expected [2,1]", shape.Message, StringComparison.Ordinal);
        var type = Assert.Throws<OnnxWorkoutException>(() =>
            OnnxWorkout.AssertMatches(Doubler(), [NamedTensor.Create("x", new[] { 1f }, 1)], [NamedTensor.Create("y", new[] { 2.0 }, 1)]));
        Assert.Contains("element type Float, expected Double", type.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AssertMatches_ModelOrtRejects_ThrowsWithOrtReason()
    {
        var g = new OnnxGraphBuilder("bad");
        var x = g.Input("x", OnnxElementType.Float, OnnxDim.Batch);
        g.Output(g.Add(x, g.Constant(1.0)), "y"); // float + double: type inference fails
        var e = Assert.Throws<OnnxWorkoutException>(() =>
            OnnxWorkout.AssertMatches(g, [NamedTensor.Create("x", new[] { 1f }, 1)], [NamedTensor.Create("y", new[] { 2f }, 1)]));
        Assert.Contains("ONNX Runtime rejected the model", e.Message, StringComparison.Ordinal);
        Assert.IsType<OnnxRuntimeException>(e.InnerException);
    }

    [Fact]
    public void AssertMatches_NotOnnxBytes_Throws()
    {
        Assert.Throws<OnnxWorkoutException>(() =>
            OnnxWorkout.AssertMatches([0xFF, 0x01], [NamedTensor.Create("x", new[] { 1f }, 1)], [NamedTensor.Create("y", new[] { 2f }, 1)]));
    }
}

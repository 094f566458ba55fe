using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Onnx.Testing;
using Ort = Microsoft.ML.OnnxRuntime;

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

    [Fact]
    public void Inputs_SymbolicBatch_ReportsTypesShapesAndSymbols()
    {
        var g = new OnnxGraphBuilder("meta");
        var x = g.Input("x", OnnxElementType.Float, OnnxDim.Batch, 7);
        var s = g.Input("s", OnnxElementType.String, "n");
        g.Output(g.ArgMax(x, 1), "idx", OnnxDim.Batch, 1);
        g.Output(s, "s_out");
        using var session = InferenceSession.FromBytes(g.ToBytes());

        Assert.Equal(2, session.Inputs.Count);
        Assert.Equal(new NodeMetadata("x", OnnxElementType.Float, [-1, 7], ["batch", ""]).ToString(), session.Inputs[0].ToString());
        Assert.Equal([-1L, 7L], session.Inputs[0].Shape);
        Assert.Equal(["batch", ""], session.Inputs[0].SymbolicDimensions);
        Assert.Equal(OnnxElementType.String, session.Inputs[1].ElementType);
        Assert.Equal(["n"], session.Inputs[1].SymbolicDimensions);
        Assert.Equal(["idx", "s_out"], session.Outputs.Select(o => o.Name));
        Assert.Equal(OnnxElementType.Int64, session.Outputs[0].ElementType);
        Assert.Equal("x: Float[batch,7]", session.Inputs[0].ToString());
    }

    [Fact]
    public void FromBytes_Garbage_ThrowsWithOrtMessage()
    {
        var e = Assert.Throws<OnnxRuntimeException>(() => InferenceSession.FromBytes([1, 2, 3, 4, 5], sourceName: "garbage.onnx"));
        Assert.Contains("garbage.onnx", e.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(e.RuntimeMessage));
        Assert.Contains(e.RuntimeMessage, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromFile_UnknownOperator_ThrowsNamingFileAndOp()
    {
        var g = new OnnxGraphBuilder("bad");
        var x = g.Input("x", OnnxElementType.Float, OnnxDim.Batch, 3);
        g.Output(g.Node("NoSuchOperator", [x], OnnxElementType.Float), "y");
        var path = Path.Combine(Path.GetTempPath(), $"rejected-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, g.ToBytes());
        try
        {
            var e = Assert.Throws<OnnxRuntimeException>(() => InferenceSession.FromFile(path));
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
            Assert.Contains("NoSuchOperator", e.RuntimeMessage, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void FromFile_Missing_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => InferenceSession.FromFile("/nonexistent/model.onnx"));
    }

    [Fact]
    public void Run_UnknownInputOrWrongType_ThrowsArgumentException()
    {
        using var session = InferenceSession.FromBytes(Models.Mlp().Builder.ToBytes());
        var unknown = Assert.Throws<ArgumentException>(() => session.Run([NamedTensor.Create("nope", new float[7], 1, 7)]));
        Assert.Contains("'nope' is not an input", unknown.Message, StringComparison.Ordinal);
        var wrongType = Assert.Throws<ArgumentException>(() => session.Run([NamedTensor.Create("x", new double[7], 1, 7)]));
        Assert.Contains("is Float; got Double", wrongType.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => session.Run([NamedTensor.Create("x", new float[7], 1, 7)], ["nope"]));
    }

    [Fact]
    public void Run_WrongShape_ThrowsOrtError()
    {
        using var session = InferenceSession.FromBytes(Models.Mlp().Builder.ToBytes());
        var e = Assert.Throws<OnnxRuntimeException>(() => session.Run([NamedTensor.Create("x", new float[8], 1, 8)]));
        Assert.Contains("InvalidArgument", e.RuntimeMessage, StringComparison.Ordinal);
        Assert.StartsWith("Running <in-memory model", e.Message, StringComparison.Ordinal);
        Assert.IsType<Ort.OnnxRuntimeException>(e.InnerException);
    }

    [Fact]
    public void Run_EmptyBatch_ReturnsEmptyOutput()
    {
        using var session = InferenceSession.FromBytes(Models.Mlp().Builder.ToBytes());
        var y = session.Run([NamedTensor.Create("x", Array.Empty<float>(), 0, 7)]).Get("probabilities");
        Assert.Equal([0L, 3L], y.Shape);
        Assert.Empty(y.GetData<float>());
        Assert.True(session.PreallocatesOutputs);
    }

    [Fact]
    public void Run_SelectedOutputs_ReturnedInRequestedOrder()
    {
        var g = new OnnxGraphBuilder("two");
        var x = g.Input("x", OnnxElementType.Float, OnnxDim.Batch);
        g.Output(g.Neg(x), "neg");
        g.Output(g.Abs(x), "abs");
        using var session = InferenceSession.FromBytes(g.ToBytes());
        var results = session.Run([NamedTensor.Create("x", new[] { 3f }, 1)], ["abs", "neg"]);
        Assert.Equal(["abs", "neg"], results.Select(r => r.Name));
        Assert.Equal([3f], results.Get("abs").GetData<float>());
        Assert.Equal([-3f], results.Get("neg").GetData<float>());
        Assert.Throws<KeyNotFoundException>(() => results.Get("other"));
    }

    [Fact]
    public async Task Run_ConcurrentCallersOnOneSession_AllGetCorrectResults()
    {
        var (g, reference) = Models.Mlp();
        using var session = InferenceSession.FromBytes(g.ToBytes(), new InferenceSessionOptions { IntraOpThreads = 1 });
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 50; i++)
            {
                var rows = 1 + (t + i) % 5;
                var x = Reference.Random(rows * 7, t * 1000 + i);
                var y = session.Run([NamedTensor.Create("x", x, rows, 7)]).Get("probabilities").GetData<float>();
                var expected = reference(x, rows);
                for (var k = 0; k < y.Length; k++)
                    if (Math.Abs(y[k] - expected[k]) > 1e-5) return false;
            }
            return true;
        })).ToArray();
        Assert.All(await Task.WhenAll(tasks), Assert.True);
    }

    [Fact]
    public async Task Dispose_WhileRunsInFlight_RunsFinishOrSeeObjectDisposed()
    {
        // The package's session frees native memory at once on Dispose; ours waits for running calls.
        var (g, reference) = Models.Mlp();
        var session = InferenceSession.FromBytes(g.ToBytes(), new InferenceSessionOptions { IntraOpThreads = 1 });
        var x = Reference.Random(64 * 7, 5);
        var expected = reference(x, 64);
        using var running = new CountdownEvent(4);
        var runners = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            var completed = 0;
            while (true)
            {
                try
                {
                    var y = session.Run([NamedTensor.Create("x", x, 64, 7)]).Get("probabilities").GetData<float>();
                    Assert.Equal(expected, y, (a, b) => Math.Abs(a - b) < 1e-5);
                    if (++completed == 1) running.Signal();
                }
                catch (ObjectDisposedException)
                {
                    return completed;
                }
            }
        })).ToArray();
        Assert.True(running.Wait(TimeSpan.FromSeconds(60))); // every runner has finished a run and is looping: Dispose lands among running calls
        session.Dispose();
        var counts = await Task.WhenAll(runners);
        Assert.All(counts, c => Assert.True(c >= 1));
        Assert.Throws<ObjectDisposedException>(() => session.Run([NamedTensor.Create("x", x, 64, 7)]));
    }

    [Fact]
    public void RuntimeVersion_OfficialPackage_Is132()
    {
        Assert.StartsWith("1.32.", InferenceSession.RuntimeVersion, StringComparison.Ordinal);
    }

    [Fact]
    public void OutputFolder_NativeLibraries_OnlyTheBuiltPlatform()
    {
        // Directory.Build.targets keeps linux-x64 of the seven platforms the package carries (about 300 MB).
        var runtimes = Path.Combine(AppContext.BaseDirectory, "runtimes");
        Assert.Equal(["linux-x64"], Directory.GetDirectories(runtimes).Select(Path.GetFileName));
        Assert.True(File.Exists(Path.Combine(runtimes, "linux-x64", "native", "libonnxruntime.so")));
        Assert.DoesNotContain("win-x64", File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Serverless.Ml.Onnx.Tests.deps.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_DeclaredOutputShapeWrong_StillReturnsWhatTheGraphComputes()
    {
        // Outputs are preallocated from the shapes ORT reports; "batch" on this output is a lie (it holds 2 x batch).
        var g = new OnnxGraphBuilder("lies");
        var x = g.Input("x", OnnxElementType.Float, OnnxDim.Batch, 2);
        g.Output(g.Reshape(g.Neg(x), -1), "y", OnnxDim.Batch);
        using var session = InferenceSession.FromBytes(g.ToBytes());
        Assert.Equal("y: Float[batch]", session.Outputs[0].ToString());
        for (var round = 0; round < 2; round++)
        {
            var y = session.Run([NamedTensor.Create("x", new[] { 1f, 2f, 3f, 4f }, 2, 2)]).Get("y");
            Assert.Equal([4L], y.Shape);
            Assert.Equal([-1f, -2f, -3f, -4f], y.GetData<float>());
        }
        Assert.False(session.PreallocatesOutputs);
    }

    [Fact]
    public void Run_AfterDispose_ThrowsObjectDisposed()
    {
        var session = InferenceSession.FromBytes(Models.Mlp().Builder.ToBytes());
        session.Dispose();
        session.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => session.Run([NamedTensor.Create("x", new float[7], 1, 7)]));
    }

    [Fact]
    public void FromBytes_OptimizationDisabledAndThreadsSet_SameResults()
    {
        var (g, reference) = Models.Mlp();
        var options = new InferenceSessionOptions { OptimizationLevel = Ort.GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpThreads = 1, InterOpThreads = 1 };
        using var session = InferenceSession.FromBytes(g.ToBytes(), options);
        var x = Reference.Random(3 * 7, 3);
        var y = session.Run([NamedTensor.Create("x", x, 3, 7)]).Get("probabilities").GetData<float>();
        Assert.Equal(reference(x, 3), y, (a, b) => Math.Abs(a - b) < 1e-5);
    }

    [Theory]
    [InlineData(17, 8)]
    [InlineData(18, 8)]
    [InlineData(19, 9)]
    [InlineData(21, 10)]
    public void FromBytes_SupportedOpsets_LoadAndRun(int opset, int ir)
    {
        var g = new OnnxGraphBuilder("v", opset);
        Assert.Equal(ir, g.IrVersion);
        var x = g.Input("x", OnnxElementType.Float, OnnxDim.Batch, 2);
        g.Output(g.ReduceSum(g.Clip(x, 0, 1), [1], keepDims: false), "y");
        OnnxWorkout.AssertMatches(g, [NamedTensor.Create("x", new[] { -1f, 0.5f, 2f, 0.25f }, 2, 2)], [NamedTensor.Create("y", new[] { 0.5f, 1.25f }, 2)]);
    }
}

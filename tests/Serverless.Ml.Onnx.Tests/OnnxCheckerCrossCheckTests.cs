using System.Diagnostics;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Proto;

namespace Serverless.Ml.Onnx.Tests;

// An independent reader of our files: the reference ONNX checker (Debian's python3-onnx 1.12, full_check
// = type and shape inference) must accept what we write. Requires python3-onnx (apt-get install python3-onnx);
// without it the test fails, on purpose, so a missing cross-check cannot pass unnoticed.
public sealed class OnnxCheckerCrossCheckTests
{
    private const string Python = "/usr/bin/python3";

    private const string Script = """
        import sys
        try:
            import onnx
        except ImportError:
            print("python3-onnx is not installed: apt-get install python3-onnx"); sys.exit(3)
        for path in sys.argv[1:]:
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=True)
            print("ok", path, model.ir_version, [(o.domain, o.version) for o in model.opset_import])
        """;

    [Fact]
    public async Task CheckModel_EveryHelperAndMergedModel_AcceptedByOnnxChecker()
    {
        var models = new List<ModelProto> { KitchenSink(), OnnxModelMerger.Merge(Transform().Build(), Models.Mlp(inputs: 5, inputName: "features").Builder.Build()) };
        var dir = Directory.CreateTempSubdirectory("onnx-checker-");
        try
        {
            var paths = models.Select((m, i) => Path.Combine(dir.FullName, $"m{i}.onnx")).ToArray();
            for (var i = 0; i < models.Count; i++) OnnxModelFile.Save(models[i], paths[i]);

            Assert.True(File.Exists(Python), $"{Python} not found; the cross-check needs Debian's python3 with python3-onnx.");
            var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(Script);
            foreach (var p in paths) psi.ArgumentList.Add(p);
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            var output = await stdout + await stderr;
            Assert.True(process.ExitCode == 0, $"onnx.checker rejected a model (exit {process.ExitCode}):\n{output}");
            Assert.Equal(paths.Length, output.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>One graph using every op helper, so the checker sees each node and attribute form we write.</summary>
    private static ModelProto KitchenSink()
    {
        var g = new OnnxGraphBuilder("all_ops");
        var batch = OnnxDim.Batch;
        var x = g.Input("x", OnnxElementType.Float, OnnxDim.Batch, 4);
        var img = g.Input("img", OnnxElementType.Float, OnnxDim.Batch, 1, 4, 4);
        var mask = g.Input("mask", OnnxElementType.Bool, OnnxDim.Batch, 4);
        var code = g.Input("code", OnnxElementType.Int64, OnnxDim.Batch, 1);
        var w = g.Initializer("w", new float[16], 4, 4);
        var a = g.Gemm(x, w, g.Constant(new float[4]), alpha: 0.5f, transB: true);
        var b = g.Add(g.Sub(g.Mul(g.Div(g.MatMul(a, w), g.ScalarLike(a, 2)), a), a), a);
        var c = g.Sqrt(g.Abs(g.Neg(g.Floor(g.Exp(g.Log(g.Tanh(g.Sigmoid(g.Relu(b)))))))));
        var d = g.Where(mask, g.Identity(c), g.Clip(g.FillNaN(c, 0), 0, 1));
        g.Output(g.Softmax(d), "soft", batch, 4);
        g.Output(g.Concat(1, g.Cast(g.IsNaN(d), OnnxElementType.Float), g.Cast(g.Equal(d, a), OnnxElementType.Float),
            g.Cast(g.Less(d, a), OnnxElementType.Float), g.Cast(g.Greater(d, a), OnnxElementType.Float)), "flags", batch, 16);
        g.Output(g.ArgMax(d, 1, keepDims: false), "arg", batch);
        g.Output(g.Gather(d, g.Constant(0L, 2L), axis: 1), "gathered", batch, 2);
        g.Output(g.ReduceSum(g.Squeeze(g.Unsqueeze(d, 1), 1), [1]), "sum", batch, 1);
        g.Output(g.Reshape(d, 0, 2, 2), "reshaped", batch, 2, 2);
        var conv = g.Conv(img, g.Initializer("k", new float[2 * 1 * 3 * 3], 2, 1, 3, 3), g.Constant(0f, 0f), kernelShape: [3, 3], pads: [1, 1, 1, 1]);
        g.Output(g.Flatten(g.MaxPool(conv, [2, 2], strides: [2, 2])), "pooled", batch, 8);
        g.Output(g.Lookup(code, [5L, 7L, 9L]), "code_index", batch, 1);
        g.Output(g.Bucketize(g.Standardize(g.Gather(x, g.Constant(0L), axis: 1), 1, 2), [0, 1]), "bucket", batch, 1);
        g.Output(g.OneHot(code, [5, 7]), "code_hot", batch, 2);
        return g.Build();
    }

    private static OnnxGraphBuilder Transform()
    {
        var g = new OnnxGraphBuilder("transform");
        var city = g.Input("city", OnnxElementType.String, OnnxDim.Batch, 1);
        var age = g.Input("age", OnnxElementType.Double, OnnxDim.Batch, 1);
        var hashed = g.Cast(g.MurmurHash3(city), OnnxElementType.Float); // the com.microsoft contrib domain
        var features = g.Concat(1, g.OneHot(city, ["a", "b", "c"]), g.Cast(g.Standardize(age, 40, 10), OnnxElementType.Float), hashed);
        g.Output(features, "features", OnnxDim.Batch, 5);
        return g;
    }
}

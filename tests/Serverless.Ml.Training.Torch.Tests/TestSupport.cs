using System.Diagnostics;
using System.Reflection;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Serverless.Ml.Data.Idx;
using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Proto;
using Serverless.Ml.Training.Training;

namespace Serverless.Ml.Training.Torch.Tests;

/// <summary>Data, the user-model assembly, the ONNX checker and ONNX Runtime for the tests.</summary>
internal static class TestSupport
{
    public const string FashionDirectory = "/usr/share/datasets/fashion-mnist";
    private const string Python = "/usr/bin/python3";
    private static readonly Lazy<(float[] Pixels, float[] Labels, int Rows)> s_t10k = new(ReadT10k);

    /// <summary>The TestModels assembly (built by the project reference, loaded by path like a user's assembly).</summary>
    public static string TestModelsAssembly => typeof(TestSupport).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "TestModelsAssembly").Value!;

    /// <summary>Rows [start, start + count) of Fashion-MNIST t10k, pixels scaled to [0, 1] (or raw 0..255).</summary>
    public static TrainingData Fashion(int start, int count, bool raw = false)
    {
        var (pixels, labels, rows) = s_t10k.Value;
        Assert.True(start + count <= rows, $"t10k has {rows} rows");
        var x = pixels.AsSpan(start * 784, count * 784).ToArray();
        if (!raw) for (var i = 0; i < x.Length; i++) x[i] /= 255f;
        return new TrainingData(x, labels.AsSpan(start, count).ToArray(), count);
    }

    private static (float[], float[], int) ReadT10k()
    {
        var images = Path.Combine(FashionDirectory, "t10k-images-idx3-ubyte.gz");
        Assert.True(File.Exists(images), $"{images} is missing: install Debian's dataset-fashion-mnist (./build.sh test does).");
        var (header, pixels) = IdxReader.ReadAllBytes(images);
        var (_, labels) = IdxReader.ReadAllBytes(Path.Combine(FashionDirectory, "t10k-labels-idx1-ubyte.gz"));
        return (pixels.Select(p => (float)p).ToArray(), labels.Select(l => (float)l).ToArray(), header.Count);
    }

    /// <summary>Random features (uniform [0, 1)) and class labels, for shapes Fashion-MNIST does not have.</summary>
    public static TrainingData Synthetic(int rows, int features, int classes, int seed)
    {
        var rng = new Random(seed);
        var x = new float[rows * features];
        for (var i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        var y = new float[rows];
        for (var r = 0; r < rows; r++)
        {
            // A learnable rule: the class is the bucket of the first feature.
            y[r] = Math.Min(classes - 1, (int)(x[r * features] * classes));
        }
        return new TrainingData(x, y, rows);
    }

    /// <summary>A transform graph: raw pixels (0..255) in as <c>pixels</c>, <c>features</c> = pixels / 255 out.</summary>
    public static ModelProto ScaleTransform(int width)
    {
        var g = new OnnxGraphBuilder("transform");
        var pixels = g.Input("pixels", OnnxElementType.Float, OnnxDim.Batch, width);
        g.Output(g.Mul(pixels, g.ScalarLike(pixels, 1.0 / 255)), "features", OnnxDim.Batch, width);
        return g.Build();
    }

    /// <summary>Runs ONNX Runtime (the Microsoft.ML.OnnxRuntime package) on one float input; returns the named output.</summary>
    public static float[] RunOrt(ModelProto model, string input, float[] values, int rows, string output)
    {
        using var session = new InferenceSession(model.ToByteArray());
        var tensor = new DenseTensor<float>(values, [rows, values.Length / rows]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, tensor)], [output]);
        return results.Single().AsEnumerable<float>().ToArray();
    }

    /// <summary>Asserts |a - b| &lt;= tolerance elementwise and reports the worst element.</summary>
    public static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        var at = -1;
        for (var i = 0; i < expected.Length; i++)
        {
            var d = Math.Abs((double)expected[i] - actual[i]);
            if (!(d <= worst)) { worst = d; at = i; }
        }
        Assert.True(worst <= tolerance, $"max |difference| {worst:G4} at {at} (expected {expected[Math.Max(at, 0)]}, got {actual[Math.Max(at, 0)]}) exceeds {tolerance}");
    }

    /// <summary>Runs Debian's onnx.checker (full check: type and shape inference) on the models; fails with its message.</summary>
    public static async Task AssertOnnxCheckerAcceptsAsync(params ModelProto[] models)
    {
        const string script = """
            import sys
            try:
                import onnx
            except ImportError:
                print("python3-onnx is not installed: apt-get install python3-onnx"); sys.exit(3)
            for path in sys.argv[1:]:
                onnx.checker.check_model(onnx.load(path), full_check=True)
                print("ok", path)
            """;
        var dir = Directory.CreateTempSubdirectory("torch-onnx-checker-");
        try
        {
            var paths = models.Select((m, i) => Path.Combine(dir.FullName, $"m{i}.onnx")).ToArray();
            for (var i = 0; i < models.Length; i++) OnnxModelFile.Save(models[i], paths[i]);
            Assert.True(File.Exists(Python), $"{Python} not found; the check needs Debian's python3 with python3-onnx.");
            var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(script);
            foreach (var p in paths) psi.ArgumentList.Add(p);
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await process.WaitForExitAsync(timeout.Token);
            var text = await stdout + await stderr;
            Assert.True(process.ExitCode == 0, $"onnx.checker rejected a model (exit {process.ExitCode}):\n{text}");
            Assert.Equal(models.Length, text.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Runtime;

namespace Benchmarks.Suites;

/// <summary>
/// ONNX Runtime (the Microsoft.ML.OnnxRuntime package, through our <c>InferenceSession</c>): rows/s of a small MLP (7-16-3, ReLU, softmax) at batch 1
/// (per-request serving cost, dominated by call overhead) and batch 256 (throughput). One session,
/// reused, as the model server does. Options: <c>--seconds S</c> per measurement (default 2, quick 0.5),
/// <c>--threads N</c> intra-op threads (default 1: the fastest for a model this small).
/// No peer runs here: Debian's python3-onnxruntime is not packaged and python3-torch is not installed.
/// </summary>
public sealed class OnnxSuite : IBenchmarkSuite
{
    private const int Inputs = 7, Hidden = 16, Outputs = 3;

    /// <inheritdoc />
    public string Name => "onnx";

    /// <inheritdoc />
    public Task RunAsync(BenchmarkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var seconds = double.Parse(context.Options.Get("seconds", context.Options.Quick ? "0.5" : "2"), CultureInfo.InvariantCulture);
        var threads = int.Parse(context.Options.Get("threads", "1"), CultureInfo.InvariantCulture);

        using var session = InferenceSession.FromBytes(BuildMlp(), new InferenceSessionOptions { IntraOpThreads = threads });
        var extra = new Dictionary<string, object>
        {
            ["model"] = $"mlp-{Inputs}-{Hidden}-{Outputs}",
            ["threads"] = threads,
            ["ort"] = InferenceSession.RuntimeVersion,
        };
        foreach (var batch in new[] { 1, 256 })
        {
            var rowsPerSecond = Measure(session, batch, seconds, out var microsPerRun, out var cpuMicrosPerRun);
            context.Report($"ort_mlp_rows_per_s_b{batch}", rowsPerSecond, "rows/s", extra);
            context.Report($"ort_mlp_run_us_b{batch}", microsPerRun, "us", extra);
            // CPU time per run: on a shared machine the wall-clock figures swing with other processes' load,
            // the CPU this process spends per run much less, so before/after comparisons use this one.
            context.Report($"ort_mlp_cpu_us_per_run_b{batch}", cpuMicrosPerRun, "us", extra);
        }
        return Task.CompletedTask;
    }

    private static double Measure(InferenceSession session, int batch, double seconds, out double microsPerRun, out double cpuMicrosPerRun)
    {
        var rng = new Random(batch);
        var x = new float[batch * Inputs];
        for (var i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        var inputs = new[] { NamedTensor.Create("x", x, batch, Inputs) };

        var warmup = Stopwatch.StartNew();
        while (warmup.Elapsed.TotalSeconds < Math.Min(0.25, seconds / 4)) session.Run(inputs);

        long runs = 0;
        var cpu = Environment.CpuUsage.TotalTime;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            for (var i = 0; i < 16; i++) session.Run(inputs);
            runs += 16;
        }
        sw.Stop();
        cpuMicrosPerRun = (Environment.CpuUsage.TotalTime - cpu).TotalMicroseconds / runs;
        microsPerRun = sw.Elapsed.TotalMicroseconds / runs;
        return runs * batch / sw.Elapsed.TotalSeconds;
    }

    private static byte[] BuildMlp()
    {
        var rng = new Random(7);
        float[] Weights(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var g = new OnnxGraphBuilder("bench_mlp");
        var x = g.Input("x", OnnxElementType.Float, OnnxDim.Batch, Inputs);
        var h = g.Relu(g.Gemm(x, g.Initializer("w1", Weights(Inputs * Hidden), Inputs, Hidden), g.Initializer("b1", Weights(Hidden), Hidden)));
        var y = g.Softmax(g.Gemm(h, g.Initializer("w2", Weights(Hidden * Outputs), Hidden, Outputs), g.Initializer("b2", Weights(Outputs), Outputs)));
        g.Output(y, "probabilities", OnnxDim.Batch, Outputs);
        return g.ToBytes();
    }
}

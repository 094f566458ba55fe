using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Serverless.Ml.Data.Columnar;
using Serverless.Ml.Data.ExampleGen;
using Serverless.Ml.Data.Idx;
using Google.Protobuf;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Training.Export;
using Serverless.Ml.Transform;
using Serverless.Ml.Training.Compute;
using Serverless.Ml.Training.Models;
using Serverless.Ml.Training.Torch;
using Serverless.Ml.Training.Training;

namespace Benchmarks.Suites;

/// <summary>
/// Trainer speed and quality against PyTorch (issue 6): Fashion-MNIST, MLP 784-256-128-10 (ReLU), batch 128,
/// Adam lr 1e-3, 5 epochs (<c>--quick</c>: 1), 2 threads (<c>--threads N</c>). Ours and the peer (Debian's
/// python3-torch 1.13 CPU under /usr/bin/python3, <c>torch.set_num_threads</c> the same) read the same IDX files,
/// scale pixels to [0, 1], shuffle every epoch and time only the training loop; test accuracy is measured after.
/// Test accuracy moves by about +-0.004 with the seed (weights and shuffling) for both, so ours trains seeds 1..10
/// (<c>--seeds N</c>) and PyTorch seeds 1..5 (<c>--peer-seeds N</c>, it is 15x slower): accuracies are means over
/// seeds, times medians. A same-start run trains PyTorch from our seed-1 initial weights in our seed-1 batch order
/// and compares per-step losses, which shows the two compute the same training, not just similar results.
/// Also reports the sustained GFLOP/s of our training loop (2 x multiply-adds of forward and backward passes /
/// time) next to one large 1024^3 GEMM of ours on the same threads. When python3-torch or dataset-fashion-mnist
/// is missing the suite installs it with apt-get first (as root, or through sudo) and says so on stderr.
/// First, <c>penguins_eval_accuracy</c>: the penguins sample's Transform + Trainer in process (ExampleGen's hash
/// split, samples/penguins_transform.yaml, the Trainer settings of samples/penguins_train.yaml without tuning),
/// measured on the eval split through ONNX Runtime running the fused model on raw rows. <c>--only penguins</c> stops there.
/// TorchSharp (issue 15): the same MLP, batches and epochs through <see cref="TorchTrainer"/> (libtorch 2.10 CPU,
/// <c>torch.set_num_threads</c> the same, same initial weights and batch order as ours for each seed) over seeds 1..5
/// (<c>--torch-seeds N</c>, <c>--torch false</c> skips it): median time, mean test accuracy, and the ratios to PyTorch and
/// to our managed trainer.
/// </summary>
public sealed class TrainSuite : IBenchmarkSuite
{
    private const string Python = "/usr/bin/python3";
    private const string DataDir = "/usr/share/datasets/fashion-mnist";
    private static readonly int[] s_hidden = [256, 128];

    /// <inheritdoc />
    public string Name => "train";

    /// <inheritdoc />
    public async Task RunAsync(BenchmarkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var epochs = int.Parse(context.Options.Get("epochs", context.Options.Quick ? "1" : "5"), CultureInfo.InvariantCulture);
        var threads = int.Parse(context.Options.Get("threads", "2"), CultureInfo.InvariantCulture);
        MeasurePenguins(context);
        if (context.Options.Get("only", string.Empty) == "penguins") return;
        await EnsureDebianPackagesAsync();

        var backend = new CpuBackend(threads);
        var (train, test) = Load();
        var extra = new Dictionary<string, object>
        {
            ["epochs"] = epochs, ["threads"] = threads, ["backend"] = backend.Name, ["batch"] = 128, ["cores"] = Environment.ProcessorCount,
        };

        var gemm = MeasureGemm(backend, 1024, context.Options.Quick ? 3 : 7);
        context.Report("gemm_gflops", gemm, "GFLOP/s", new Dictionary<string, object>(extra) { ["size"] = "1024^3" });

        // Ours over seeds 1..N (weights and shuffling both follow the seed). Accuracy moves by about +-0.004 from seed
        // to seed for us and for PyTorch alike, so the accuracy reported is the mean over seeds, each seed listed.
        var seeds = int.Parse(context.Options.Get("seeds", context.Options.Quick ? "1" : "10"), CultureInfo.InvariantCulture);
        if (seeds < 1) throw new ArgumentException($"--seeds must be at least 1, got {seeds}.");
        var runs = new List<(double Seconds, double Accuracy, double FinalLoss)>();
        float[][] seed1Start = [];
        var seed1Losses = new List<double>();
        for (var seed = 1UL; seed <= (ulong)seeds; seed++)
        {
            var network = NeuralNetwork.CreateMlp(new MlpOptions { InputSize = 784, HiddenSizes = s_hidden, OutputSize = 10 }, seed);
            if (seed == 1) seed1Start = network.Parameters.Select(p => (float[])p.Value.Clone()).ToArray();
            var trainer = new Trainer(network, new TrainerOptions
            {
                Epochs = epochs, BatchSize = 128, Optimizer = new AdamOptions { LearningRate = 1e-3f }, Seed = seed,
                OnStep = seed == 1 ? p => seed1Losses.Add(p.Loss) : null,
            }, backend);
            var sw = Stopwatch.StartNew();
            var result = trainer.Train(train);
            var elapsed = sw.Elapsed.TotalSeconds;
            runs.Add((elapsed, Trainer.Evaluate(network, test, backend).Metric, result.History.Epochs[^1].TrainLoss));
        }

        var seconds = Median(runs.Select(r => r.Seconds));
        var accuracy = runs.Average(r => r.Accuracy);
        // Multiply-adds per sample: forward 784*256 + 256*128 + 128*10; backward the same for weight gradients plus
        // input gradients of the 2nd and 3rd layers (the first layer's input needs none).
        const double macsPerSample = 2 * (784.0 * 256 + 256 * 128 + 128 * 10) + (256.0 * 128 + 128 * 10);
        var trainGflops = 2 * macsPerSample * train.Rows * epochs / seconds / 1e9;
        var timing = new Dictionary<string, object>(extra) { ["runs"] = runs.Count, ["statistic"] = "median", ["all"] = Join(runs.Select(r => r.Seconds), "F2") };

        context.Report("mlp_fashion_mnist_train_s", seconds, "s", timing);
        context.Report("mlp_fashion_mnist_images_per_s", train.Rows * epochs / seconds, "images/s", timing);
        var ourAccuracy = OverSeeds(extra, runs.Select(r => r.Accuracy).ToList());
        ourAccuracy["final_train_loss_seed1"] = Math.Round(runs[0].FinalLoss, 4);
        context.Report("mlp_fashion_mnist_test_accuracy", accuracy, "fraction", ourAccuracy);
        context.Report("train_gflops", trainGflops, "GFLOP/s", timing);

        var torchSharp = context.Options.Get("torch", "true") == "false" ? (double?)null : MeasureTorchSharp(context, extra, train, test, threads, epochs, seconds);

        // --peer false: skip PyTorch (e.g. for a seed sweep on a loaded machine).
        if (context.Options.Get("peer", "true") == "false") return;
        var peerSeeds = int.Parse(context.Options.Get("peer-seeds", context.Options.Quick ? "1" : "5"), CultureInfo.InvariantCulture);
        if (peerSeeds < 1) throw new ArgumentException($"--peer-seeds must be at least 1, got {peerSeeds}.");
        var peer = await RunPeerAsync(threads, epochs, peerSeeds, seed1Start, train.Rows);
        var peerExtra = new Dictionary<string, object>(extra) { ["peer"] = "pytorch " + peer.Version, ["peer_omp_wait_policy"] = "PASSIVE" };
        var peerSeconds = Median(peer.Runs.Select(r => r.Seconds));
        var peerAccuracy = peer.Runs.Average(r => r.Accuracy);
        var peerTiming = new Dictionary<string, object>(peerExtra) { ["runs"] = peer.Runs.Count, ["statistic"] = "median", ["all"] = Join(peer.Runs.Select(r => r.Seconds), "F2") };
        context.Report("pytorch_fashion_mnist_train_s", peerSeconds, "s", peerTiming);
        context.Report("pytorch_fashion_mnist_images_per_s", train.Rows * epochs / peerSeconds, "images/s", peerTiming);
        context.Report("mlp_fashion_mnist_time_ratio_vs_pytorch", seconds / peerSeconds, "ratio", new Dictionary<string, object>(peerExtra) { ["statistic"] = "median / median" });
        context.Report("pytorch_fashion_mnist_test_accuracy", peerAccuracy, "fraction", OverSeeds(peerExtra, peer.Runs.Select(r => r.Accuracy).ToList()));
        context.Report("mlp_fashion_mnist_accuracy_diff_vs_pytorch", accuracy - peerAccuracy, "fraction", new Dictionary<string, object>(peerExtra) { ["statistic"] = "mean - mean" });
        if (torchSharp is { } ts)
        {
            context.Report("torchsharp_vs_pytorch_time_ratio", ts / peerSeconds, "ratio", new Dictionary<string, object>(peerExtra)
            {
                ["statistic"] = "median / median", ["target"] = "<= 0.5",
            });
        }

        // Same start: PyTorch trained from our seed-1 initial weights on our seed-1 batches. Equal math gives equal
        // per-step losses until float rounding differences grow (training is chaotic), so the first 100 steps are
        // compared; the accuracies after all epochs differ only by that chaos.
        var steps = Math.Min(100, Math.Min(seed1Losses.Count, peer.SameStartLosses.Length));
        var maxRel = 0.0;
        for (var i = 0; i < steps; i++) maxRel = Math.Max(maxRel, Math.Abs(seed1Losses[i] - peer.SameStartLosses[i]) / Math.Abs(peer.SameStartLosses[i]));
        context.Report("same_start_loss_max_rel_diff_ppm", maxRel * 1e6, "ppm", new Dictionary<string, object>(peerExtra)
        {
            ["steps"] = steps, ["ours_step1"] = seed1Losses[0], ["pytorch_step1"] = peer.SameStartLosses[0],
            ["ours_last_step"] = Math.Round(seed1Losses[^1], 4), ["pytorch_last_step"] = Math.Round(peer.SameStartLosses[^1], 4),
        });
        context.Report("pytorch_same_start_test_accuracy", peer.SameStartAccuracy, "fraction", new Dictionary<string, object>(peerExtra)
        {
            ["ours_seed1"] = Math.Round(runs[0].Accuracy, 4),
        });
    }

    /// <summary>
    /// TorchSharp on the same task over seeds 1..N (the built-in MLP converted from ours: same initial weights, same batch
    /// order per seed); reports its figures and the managed/TorchSharp ratio, returns its median seconds.
    /// </summary>
    private static double MeasureTorchSharp(BenchmarkContext context, Dictionary<string, object> extra, TrainingData train, TrainingData test,
        int threads, int epochs, double managedSeconds)
    {
        var seeds = int.Parse(context.Options.Get("torch-seeds", context.Options.Quick ? "1" : "5"), CultureInfo.InvariantCulture);
        if (seeds < 1) throw new ArgumentException($"--torch-seeds must be at least 1, got {seeds}.");
        var start = Stopwatch.StartNew();
        TorchRuntime.SetThreads(threads);
        var initSeconds = start.Elapsed.TotalSeconds;
        var batches = (train.Rows + 127) / 128;
        var runs = new List<(double Seconds, double FirstEpoch, double LaterEpochs, double Accuracy)>();
        for (var seed = 1UL; seed <= (ulong)seeds; seed++)
        {
            using var model = TorchModel.Mlp(new MlpOptions { InputSize = 784, HiddenSizes = s_hidden, OutputSize = 10 }, seed);
            var epochEnds = new List<double>();
            var sw = new Stopwatch();
            var trainer = new TorchTrainer(model, new TrainerOptions
            {
                Epochs = epochs, BatchSize = 128, Optimizer = new AdamOptions { LearningRate = 1e-3f }, Seed = seed,
                OnStep = p => { if (p.Step % batches == 0) epochEnds.Add(sw.Elapsed.TotalSeconds); },
            }, TorchDeviceKind.Cpu);
            sw.Start();
            trainer.Train(train);
            var elapsed = sw.Elapsed.TotalSeconds;
            var later = epochEnds.Count > 1 ? (epochEnds[^1] - epochEnds[0]) / (epochEnds.Count - 1) : double.NaN;
            runs.Add((elapsed, epochEnds[0], later, TorchTrainer.Evaluate(model, test).Metric));
        }
        var seconds = Median(runs.Select(r => r.Seconds));
        var torchExtra = new Dictionary<string, object>(extra)
        {
            ["backend"] = "torchsharp-cpu (libtorch 2.10)", ["onednn_isa_capped_avx2"] = TorchRuntime.CappedOneDnnAtAvx2,
            ["libstdcxx_fix"] = TorchRuntime.AppliedLibStdCxxFix, ["omp_wait_policy_passive"] = TorchRuntime.SetPassiveOpenMpWait,
        };
        context.Report("torchsharp_mlp_fashion_mnist_s", seconds, "s", new Dictionary<string, object>(torchExtra)
        {
            ["runs"] = runs.Count, ["statistic"] = "median", ["all"] = Join(runs.Select(r => r.Seconds), "F2"),
            ["first_epoch_s"] = Join(runs.Select(r => r.FirstEpoch), "F2"), ["later_epoch_s"] = Join(runs.Select(r => r.LaterEpochs), "F2"),
            ["init_s"] = Math.Round(initSeconds, 2), ["process_peak_working_set_mb"] = Process.GetCurrentProcess().PeakWorkingSet64 / (1 << 20),
        });
        context.Report("torchsharp_mlp_fashion_mnist_test_accuracy", runs.Average(r => r.Accuracy), "fraction", OverSeeds(torchExtra, runs.Select(r => r.Accuracy).ToList()));
        context.Report("managed_vs_torchsharp_time_ratio", managedSeconds / seconds, "ratio", new Dictionary<string, object>(torchExtra) { ["statistic"] = "median / median" });
        return seconds;
    }

    /// <summary>The extra fields of a mean over seeds 1..N: each seed's value, the range and seed 1's.</summary>
    private static Dictionary<string, object> OverSeeds(Dictionary<string, object> extra, IReadOnlyList<double> bySeed) => new(extra)
    {
        ["statistic"] = "mean", ["seeds"] = bySeed.Count, ["seed1"] = Math.Round(bySeed[0], 4), ["min"] = Math.Round(bySeed.Min(), 4),
        ["max"] = Math.Round(bySeed.Max(), 4), ["all"] = Join(bySeed, "F4"),
    };

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Join(IEnumerable<double> values, string format) =>
        string.Join(",", values.Select(v => v.ToString(format, CultureInfo.InvariantCulture)));

    /// <summary>ExampleGen split -> Transform fit on train -> MLP 32-16 (Adam 0.01, batch 16, 60 epochs, patience 10, seed 1) -> ORT on eval.</summary>
    private static void MeasurePenguins(BenchmarkContext context)
    {
        var root = FindRepositoryRoot();
        var scratch = Path.Combine(Path.GetTempPath(), $"train-penguins-{Environment.ProcessId}");
        try
        {
            var sw = Stopwatch.StartNew();
            var split = ExampleGenCore.Run(new ExampleGenOptions
            {
                InputBase = Path.Combine(root, "samples", "data"), Pattern = "penguins.csv", OutputDirectory = scratch, Compression = Serverless.Ml.Data.TfRecord.TfRecordCompression.None,
            });
            IReadOnlyList<string> Shards(string name) => split.Splits.Single(s => s.Name == name).ColumnarFiles;
            var fitted = new TransformEstimator(TransformSpec.Load(Path.Combine(root, "samples", "penguins_transform.yaml"))).Fit(new ColumnarReader(Shards("train")));
            TrainingData Read(string name)
            {
                var path = Path.Combine(scratch, $"{name}-transformed.smlc");
                fitted.WriteExamples(new ColumnarReader(Shards(name)), path);
                var t = TransformedExamples.ReadAll([path]);
                return new TrainingData(t.Features, t.Labels!, t.Rows);
            }

            var train = Read("train");
            var eval = Read("eval");
            var network = NeuralNetwork.CreateMlp(new MlpOptions { InputSize = fitted.Width, HiddenSizes = [32, 16], OutputSize = fitted.Label!.Classes!.Length }, seed: 1);
            new Trainer(network, new TrainerOptions { Epochs = 60, BatchSize = 16, Optimizer = new AdamOptions { LearningRate = 0.01f }, Seed = 1, EarlyStoppingPatience = 10 }).Train(train, eval);
            var seconds = sw.Elapsed.TotalSeconds;

            // Score the deployable artifact: raw eval rows through the fused ONNX model in ORT.
            using var session = InferenceSession.FromBytes(OnnxExporter.ExportWithTransform(fitted.BuildOnnx(), network).ToByteArray());
            int correct = 0, rows = 0;
            foreach (var batch in new ColumnarReader(Shards("eval")).ReadBatches())
            {
                var probabilities = session.Run(fitted.ToOnnxInputs(batch)).Get("probabilities").GetData<float>();
                var labels = fitted.Apply(batch).Labels!;
                for (var r = 0; r < batch.RowCount; r++)
                {
                    var row = probabilities.AsSpan(r * 3, 3);
                    if (row.IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(row)) == (int)labels[r]) correct++;
                }

                rows += batch.RowCount;
            }

            context.Report("penguins_eval_accuracy", (double)correct / rows, "fraction", new Dictionary<string, object>
            {
                ["eval_rows"] = rows, ["train_rows"] = train.Rows, ["model"] = "mlp 32-16", ["transform_train_s"] = Math.Round(seconds, 3),
                ["in_process_eval_accuracy"] = Math.Round(Trainer.Evaluate(network, eval).Metric, 4),
            });
        }
        finally
        {
            if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) return dir.FullName;
        }

        return Directory.GetCurrentDirectory();
    }

    private static double MeasureGemm(CpuBackend backend, int n, int reps)
    {
        var a = new float[n * n];
        var b = new float[n * n];
        var c = new float[n * n];
        for (var i = 0; i < a.Length; i++) { a[i] = (i % 17) * 0.01f; b[i] = (i % 13) * 0.01f; }
        backend.Gemm(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n);
        var times = new double[reps];
        for (var r = 0; r < reps; r++)
        {
            var sw = Stopwatch.StartNew();
            backend.Gemm(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n);
            times[r] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return 2.0 * n * n * n / times[reps / 2] / 1e9;
    }

    private static (TrainingData Train, TrainingData Test) Load()
    {
        TrainingData Read(string images, string labels)
        {
            var (ih, pixels) = IdxReader.ReadAllBytes(Path.Combine(DataDir, images));
            var (_, classes) = IdxReader.ReadAllBytes(Path.Combine(DataDir, labels));
            var x = new float[pixels.Length];
            for (var i = 0; i < x.Length; i++) x[i] = pixels[i] / 255f;
            return new TrainingData(x, classes.Select(l => (float)l).ToArray(), ih.Count);
        }
        return (Read("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"), Read("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"));
    }

    private static async Task EnsureDebianPackagesAsync()
    {
        var missing = new List<string>();
        if (!await PythonHasTorchAsync()) missing.Add("python3-torch");
        if (!File.Exists(Path.Combine(DataDir, "train-images-idx3-ubyte.gz"))) missing.Add("dataset-fashion-mnist");
        if (missing.Count == 0) return;
        Console.Error.WriteLine($"train suite: installing Debian packages {string.Join(' ', missing)} with apt-get (needed for the PyTorch peer and the data)");
        var sudo = Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root" || IsRoot() ? null : "sudo";
        var install = string.Join(' ', missing);
        var command = $"{sudo} apt-get update -qq; DEBIAN_FRONTEND=noninteractive {sudo} apt-get install -y -qq --no-install-recommends {install}";
        var (code, output) = await RunAsync("/bin/sh", ["-c", command]);
        if (code != 0) throw new InvalidOperationException($"apt-get install {install} failed ({code}):\n{output}");
        if (!await PythonHasTorchAsync()) throw new InvalidOperationException("python3-torch was installed but 'import torch' still fails under /usr/bin/python3");
    }

    private static bool IsRoot()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("Uid:", StringComparison.Ordinal)) return line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0";
        return false;
    }

    private static async Task<bool> PythonHasTorchAsync() =>
        File.Exists(Python) && (await RunAsync(Python, ["-c", "import torch"])).ExitCode == 0;

    private sealed record PeerRun(ulong Seed, double Seconds, double Accuracy);

    private sealed record PeerResult(IReadOnlyList<PeerRun> Runs, double SameStartAccuracy, double[] SameStartLosses, string Version);

    /// <summary>
    /// Runs the PyTorch peer in one process: first the same-start run (our seed-1 weights, written as raw float32 in our
    /// [in, out] layout, and our epoch orders as raw int32), then <paramref name="seeds"/> runs with PyTorch's own
    /// initialisation and <c>torch.randperm</c> under <c>torch.manual_seed(1..seeds)</c>.
    /// </summary>
    private static async Task<PeerResult> RunPeerAsync(int threads, int epochs, int seeds, float[][] start, int rows)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"train-peer-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var script = Path.Combine(dir, "peer.py");
            await File.WriteAllTextAsync(script, PeerScript);
            for (var i = 0; i < start.Length; i++)
                await File.WriteAllBytesAsync(Path.Combine(dir, $"param{i}.bin"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(start[i].AsSpan()).ToArray());
            for (var e = 0; e < epochs; e++)
                await File.WriteAllBytesAsync(Path.Combine(dir, $"order{e}.bin"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(Trainer.EpochOrder(rows, 1, e).AsSpan()).ToArray());
            // OpenMP threads sleep when idle, as in our TorchSharp engine (TorchRuntime.SetPassiveOpenMpWait): with libgomp's
            // default spinning a loaded machine makes libtorch many times slower, which would compare the scheduler, not the engines.
            var (code, output) = await RunAsync(Python, [script, threads.ToString(CultureInfo.InvariantCulture), epochs.ToString(CultureInfo.InvariantCulture), DataDir,
                seeds.ToString(CultureInfo.InvariantCulture), dir], new Dictionary<string, string> { ["OMP_WAIT_POLICY"] = "PASSIVE" });
            if (code != 0) throw new InvalidOperationException($"the PyTorch peer failed ({code}):\n{output}");
            var runs = new List<PeerRun>();
            double sameStart = double.NaN;
            var version = "?";
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{')))
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                version = root.GetProperty("torch").GetString() ?? "?";
                if (root.GetProperty("kind").GetString() == "same_start") sameStart = root.GetProperty("test_accuracy").GetDouble();
                else runs.Add(new PeerRun(root.GetProperty("seed").GetUInt64(), root.GetProperty("train_seconds").GetDouble(), root.GetProperty("test_accuracy").GetDouble()));
            }
            if (runs.Count != seeds || double.IsNaN(sameStart)) throw new InvalidOperationException($"the PyTorch peer reported {runs.Count} of {seeds} runs (same start: {sameStart}):\n{output}");
            var losses = (await File.ReadAllLinesAsync(Path.Combine(dir, "same_start_losses.txt"))).Select(l => double.Parse(l, CultureInfo.InvariantCulture)).ToArray();
            return new PeerResult(runs, sameStart, losses, version);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }

    // The same model, data, batch size, optimizer and epoch shuffling as ours; only the training loop is timed.
    // argv: threads epochs data_dir seeds start_dir (param{i}.bin, order{e}.bin; same_start_losses.txt is written there).
    private const string PeerScript = """
        import gzip, json, sys, time
        import numpy as np
        import torch
        from torch import nn

        threads, epochs, root, seeds, start = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
        torch.set_num_threads(threads)

        def idx(name):
            with gzip.open(root + "/" + name, "rb") as f:
                data = f.read()
            ndim = data[3]
            dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
            return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)

        xtr = torch.from_numpy(idx("train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255.0)
        ytr = torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
        xte = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255.0)
        yte = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
        n = xtr.shape[0]

        def train(model, order, losses=None):
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            loss_fn = nn.CrossEntropyLoss()
            t0 = time.perf_counter()
            for epoch in range(epochs):
                perm = order(epoch)
                for i in range(0, n, 128):
                    b = perm[i:i + 128]
                    opt.zero_grad()
                    loss = loss_fn(model(xtr[b]), ytr[b])
                    if losses is not None:
                        losses.append(loss.item())
                    loss.backward()
                    opt.step()
            seconds = time.perf_counter() - t0
            with torch.no_grad():
                accuracy = (model(xte).argmax(1) == yte).float().mean().item()
            return seconds, accuracy

        def mlp():
            return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))

        # Same start: our initial weights (dense weights stored [in, out], PyTorch keeps [out, in]) and our batch order.
        model = mlp()
        with torch.no_grad():
            for i, layer in enumerate([model[0], model[2], model[4]]):
                w = np.fromfile(f"{start}/param{2 * i}.bin", dtype=np.float32).reshape(layer.in_features, layer.out_features)
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                layer.bias.copy_(torch.from_numpy(np.fromfile(f"{start}/param{2 * i + 1}.bin", dtype=np.float32)))
        losses = []
        seconds, accuracy = train(model, lambda e: torch.from_numpy(np.fromfile(f"{start}/order{e}.bin", dtype=np.int32).astype(np.int64)), losses)
        with open(f"{start}/same_start_losses.txt", "w") as f:
            f.write("\n".join(repr(l) for l in losses))
        print(json.dumps({"kind": "same_start", "train_seconds": seconds, "test_accuracy": accuracy, "torch": torch.__version__}), flush=True)

        for seed in range(1, seeds + 1):
            torch.manual_seed(seed)
            model = mlp()
            seconds, accuracy = train(model, lambda e: torch.randperm(n))
            print(json.dumps({"kind": "seed", "seed": seed, "train_seconds": seconds, "test_accuracy": accuracy, "torch": torch.__version__}), flush=True)
        """;
}

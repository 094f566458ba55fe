using System.Text.Json;
using Serverless.Ml.Training.Models;
using Serverless.Ml.Training.Training;
using TorchSharp;

namespace Serverless.Ml.Training.Torch.Tests;

public sealed class TorchTrainerTests
{
    private const string Mlp = "Serverless.Ml.Training.Torch.TestModels.FashionMlp";
    private const string ConvNet = "Serverless.Ml.Training.Torch.TestModels.FashionConvNet";

    private static TorchModel UserModel(string type, IReadOnlyList<int> shape, ulong seed, Dictionary<string, string>? parameters = null) =>
        TorchModel.Create(TorchUserModel.Load(TestSupport.TestModelsAssembly, type), new TorchModelContext
        {
            InputShape = shape, OutputSize = 10, Seed = seed, Parameters = parameters ?? [],
        });

    private static float[][] Weights(TorchModel model) =>
        model.Module.named_parameters().Select(p => p.parameter.detach().cpu().data<float>().ToArray()).ToArray();

    [Fact]
    public void Train_UserMlpOnFashionT10k_LearnsWithManagedCurves()
    {
        var train = TestSupport.Fashion(0, 3000);
        var eval = TestSupport.Fashion(3000, 1000);
        using var model = UserModel(Mlp, [784], seed: 1);
        var trainer = new TorchTrainer(model, new TrainerOptions { Epochs = 3, BatchSize = 64, Optimizer = new AdamOptions(), Seed = 1 }, TorchDeviceKind.Cpu);

        var result = trainer.Train(train, eval);

        Assert.Equal(StopReason.Completed, result.Reason);
        Assert.Equal(3 * 47, result.Steps); // ceil(3000 / 64) = 47 batches per epoch
        Assert.Equal("torchsharp-cpu", result.Backend);
        Assert.Equal([1, 2, 3], result.History.Epochs.Select(e => e.Epoch));
        Assert.All(result.History.Epochs, e => Assert.NotNull(e.EvalMetric));
        Assert.True(result.History.Epochs[^1].TrainLoss < result.History.Epochs[0].TrainLoss, "the training loss must fall");
        var evaluation = TorchTrainer.Evaluate(model, eval);
        Assert.True(evaluation.Metric > 0.72, $"eval accuracy {evaluation.Metric} after 3 epochs on 3000 images (chance: 0.1)");
        Assert.Equal(evaluation.Metric, result.History.Epochs[^1].EvalMetric!.Value, 6);
        // The ModelRun curves have the managed trainer's JSON shape.
        using var json = JsonDocument.Parse(result.History.ToJson());
        Assert.Equal("cross_entropy", json.RootElement.GetProperty("lossName").GetString());
        Assert.Equal("accuracy", json.RootElement.GetProperty("metricName").GetString());
        Assert.Equal(3, json.RootElement.GetProperty("epochs").GetArrayLength());
        Assert.True(json.RootElement.GetProperty("epochs")[0].TryGetProperty("evalLoss", out _));
    }

    [Fact]
    public void Train_SameStartAsManagedTrainer_SameLossesStepByStep()
    {
        // The built-in MLP converted from the managed network (same initial weights) on the same batches: both engines
        // compute the same training, so per-step losses agree to float rounding.
        var options = new MlpOptions { InputSize = 784, HiddenSizes = [64], OutputSize = 10 };
        var trainerOptions = new TrainerOptions { Epochs = 1, BatchSize = 100, Optimizer = new AdamOptions(), Seed = 3 };
        var data = TestSupport.Fashion(0, 1500);
        var managed = new List<double>();
        new Trainer(NeuralNetwork.CreateMlp(options, seed: 3), trainerOptions with { OnStep = p => managed.Add(p.Loss) }).Train(data);
        var torchLosses = new List<double>();
        using var model = TorchModel.Mlp(options, seed: 3);

        new TorchTrainer(model, trainerOptions with { OnStep = p => torchLosses.Add(p.Loss) }, TorchDeviceKind.Cpu).Train(data);

        Assert.Equal(15, torchLosses.Count);
        for (var i = 0; i < torchLosses.Count; i++)
            Assert.True(Math.Abs(managed[i] - torchLosses[i]) <= 1e-4 * managed[i], $"step {i + 1}: managed {managed[i]}, torch {torchLosses[i]}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Train_KilledAndResumed_SameLossesAndWeightsAsUninterrupted(bool convNetWithSgd)
    {
        // Dropout (per-step seeds), Adam moments and step, or SGD velocity and batch-norm statistics all survive a resume.
        var dir = Directory.CreateTempSubdirectory("torch-resume-");
        try
        {
            var data = TestSupport.Fashion(0, convNetWithSgd ? 240 : 600);
            string type = convNetWithSgd ? ConvNet : Mlp;
            IReadOnlyList<int> shape = convNetWithSgd ? [1, 28, 28] : [784];
            OptimizerOptions optimizer = convNetWithSgd ? new SgdOptions { LearningRate = 0.05f, Momentum = 0.9f } : new AdamOptions();
            var options = new TrainerOptions { Epochs = 3, BatchSize = convNetWithSgd ? 40 : 64, Optimizer = optimizer, Seed = 7 };
            var straight = new List<double>();
            using var reference = UserModel(type, shape, seed: 7);
            var expected = new TorchTrainer(reference, options with { OnStep = p => straight.Add(p.Loss) }, TorchDeviceKind.Cpu).Train(data);

            var checkpoint = Path.Combine(dir.FullName, "ckpt.bin");
            using var cancel = new CancellationTokenSource();
            using (var first = UserModel(type, shape, seed: 7))
            {
                var killed = options with { CheckpointPath = checkpoint, CheckpointEverySteps = 4, OnStep = p => { if (p.Step == 11) cancel.Cancel(); } };
                Assert.Throws<OperationCanceledException>(() => new TorchTrainer(first, killed, TorchDeviceKind.Cpu).Train(data, cancellation: cancel.Token));
            }
            Assert.Equal(8, TrainingCheckpoint.ReadInfo(checkpoint).Step); // the last checkpoint before the kill
            var resumedLosses = new List<double>();
            using var resumed = UserModel(type, shape, seed: 99); // other initial weights: everything must come from the checkpoint

            var result = new TorchTrainer(resumed, options with { CheckpointPath = checkpoint, CheckpointEverySteps = 4, OnStep = p => resumedLosses.Add(p.Loss) }, TorchDeviceKind.Cpu).Train(data);

            Assert.Equal(8, result.ResumedFromStep);
            Assert.Equal(expected.Steps, result.Steps);
            Assert.Equal(straight.Skip(8), resumedLosses);
            Assert.Equal(Weights(reference), Weights(resumed));
            Assert.Equal(expected.History.ToJson(), result.History.ToJson());
            if (convNetWithSgd)
            {
                var buffers = reference.Module.named_buffers().Zip(resumed.Module.named_buffers());
                Assert.All(buffers, b => Assert.Equal(b.First.buffer.to(torch.float32).data<float>().ToArray(), b.Second.buffer.to(torch.float32).data<float>().ToArray()));
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Train_CompletedCheckpoint_ReturnsAtOnce_OtherArchitectureRefused()
    {
        var dir = Directory.CreateTempSubdirectory("torch-ckpt-");
        try
        {
            var data = TestSupport.Synthetic(200, 8, 3, seed: 1);
            var checkpoint = Path.Combine(dir.FullName, "ckpt.bin");
            var options = new TrainerOptions { Epochs = 2, BatchSize = 50, Seed = 1, CheckpointPath = checkpoint };
            using var model = TorchModel.Mlp(new MlpOptions { InputSize = 8, HiddenSizes = [6], OutputSize = 3 }, seed: 1);
            var done = new TorchTrainer(model, options, TorchDeviceKind.Cpu).Train(data);
            var steps = 0;

            var again = new TorchTrainer(model, options with { OnStep = _ => steps++ }, TorchDeviceKind.Cpu).Train(data);

            Assert.Equal(0, steps);
            Assert.Equal(done.Steps, again.ResumedFromStep);
            Assert.True(TrainingCheckpoint.ReadInfo(checkpoint).Completed);
            using var other = TorchModel.Mlp(new MlpOptions { InputSize = 8, HiddenSizes = [5], OutputSize = 3 }, seed: 1);
            var e = Assert.Throws<InvalidOperationException>(() => new TorchTrainer(other, options, TorchDeviceKind.Cpu).Train(data));
            Assert.Contains("architecture", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Train_LossBecomesInfinite_DivergedBeforeTheStep()
    {
        var rows = 64;
        var x = Enumerable.Range(0, rows * 4).Select(i => (float)(i % 7)).ToArray();
        var y = Enumerable.Range(0, rows).Select(i => (float)i * 1e19f).ToArray(); // squares overflow float
        using var model = TorchModel.Mlp(new MlpOptions { InputSize = 4, HiddenSizes = [4], OutputSize = 1, Task = PredictionTask.Regression }, seed: 1);

        var e = Assert.Throws<TrainingDivergedException>(() => new TorchTrainer(model, new TrainerOptions { Epochs = 1, BatchSize = 32 }, TorchDeviceKind.Cpu)
            .Train(new TrainingData(x, y, rows)));

        Assert.Equal(1, e.Step);
        Assert.False(double.IsFinite(e.Loss));
    }

    [Fact]
    public void Train_RegressionAndEarlyStopping_RestoresBestWeights()
    {
        // y = sum of features; early stopping with a patience of 1 on a noisy eval split stops before 40 epochs.
        var rng = new Random(2);
        TrainingData Make(int rows)
        {
            var x = Enumerable.Range(0, rows * 3).Select(_ => (float)rng.NextDouble()).ToArray();
            var y = Enumerable.Range(0, rows).Select(r => x[3 * r] + x[3 * r + 1] + x[3 * r + 2] + (float)(rng.NextDouble() - 0.5)).ToArray();
            return new TrainingData(x, y, rows);
        }
        var train = Make(200);
        var eval = Make(100);
        using var model = TorchModel.Mlp(new MlpOptions { InputSize = 3, HiddenSizes = [8], OutputSize = 1, Task = PredictionTask.Regression }, seed: 1);

        var result = new TorchTrainer(model, new TrainerOptions { Epochs = 40, BatchSize = 20, Optimizer = new AdamOptions { LearningRate = 0.05f }, Seed = 1, EarlyStoppingPatience = 1 }, TorchDeviceKind.Cpu)
            .Train(train, eval);

        Assert.Equal(StopReason.EarlyStopped, result.Reason);
        Assert.Equal("mse", result.History.LossName);
        Assert.Equal("rmse", result.History.MetricName);
        var best = result.History.Epochs.Min(e => e.EvalLoss!.Value);
        Assert.Equal(best, TorchTrainer.Evaluate(model, eval).Loss, 5);
    }

    [Fact]
    public void Train_ClassifierEndingInSoftmax_Refused()
    {
        using var model = UserModel("Serverless.Ml.Training.Torch.TestModels.SoftmaxOutputModel", [784], seed: 1);

        var e = Assert.Throws<ArgumentException>(() => new TorchTrainer(model, new TrainerOptions(), TorchDeviceKind.Cpu).Train(TestSupport.Fashion(0, 10)));

        Assert.Contains("'softmax'", e.Message, StringComparison.Ordinal);
        Assert.Contains("logits", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_BadLabel_ErrorNamesRow()
    {
        using var model = TorchModel.Mlp(new MlpOptions { InputSize = 2, OutputSize = 3 }, seed: 1);

        var e = Assert.Throws<ArgumentException>(() => new TorchTrainer(model, new TrainerOptions(), TorchDeviceKind.Cpu)
            .Train(new TrainingData([0, 0, 1, 1, 2, 2], [0, 5, 1], 3)));

        Assert.Contains("row 1", e.Message, StringComparison.Ordinal);
    }
}

using System.Xml.Linq;
using Serverless.Ml.Training.Compute;
using Serverless.Ml.Training.Models;
using Serverless.Ml.Training.Training;

namespace Serverless.Ml.Training.Tests;

public sealed class TrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "training-tests-" + Guid.NewGuid().ToString("N"));

    public TrainerTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static NeuralNetwork Mlp(int inputs = 2, int outputs = 2, float dropout = 0, ulong seed = 1, PredictionTask task = PredictionTask.Classification) =>
        NeuralNetwork.CreateMlp(new MlpOptions { InputSize = inputs, HiddenSizes = [16, 8], OutputSize = outputs, Dropout = dropout, Task = task }, seed);

    [Fact]
    public void Train_Xor_ClassifiesAllFourPoints()
    {
        var net = NeuralNetwork.CreateMlp(new MlpOptions { InputSize = 2, HiddenSizes = [8], OutputSize = 2, Activation = Activation.Tanh }, 3);
        var data = TestData.Xor();
        new Trainer(net, new TrainerOptions { Epochs = 400, BatchSize = 4, Optimizer = new AdamOptions { LearningRate = 0.05f } }).Train(data);
        var p = net.Predict(data.Features, 4);
        for (var r = 0; r < 4; r++) Assert.True(p[r * 2 + (int)data.Targets[r]] > 0.9f, $"row {r}: {p[r * 2]}, {p[r * 2 + 1]}");
    }

    [Fact]
    public void EpochOrder_ReplayedUnshuffled_GivesBitIdenticalWeights()
    {
        // The benchmark feeds PyTorch our batches through EpochOrder; if it drifted from what Train uses, the
        // step-by-step comparison would silently compare different batches.
        const ulong seed = 7;
        var data = TestData.Blobs(150, 4, 1);
        var shuffled = Mlp(inputs: 4);
        new Trainer(shuffled, new TrainerOptions { Epochs = 1, BatchSize = 16, Seed = seed }).Train(data);

        var order = Trainer.EpochOrder(data.Rows, seed, 0);
        Assert.Equal(Enumerable.Range(0, data.Rows), order.Order());
        var features = order.SelectMany(r => data.Features.AsSpan(r * 4, 4).ToArray()).ToArray();
        var targets = order.Select(r => data.Targets[r]).ToArray();
        var replayed = Mlp(inputs: 4);
        new Trainer(replayed, new TrainerOptions { Epochs = 1, BatchSize = 16, Seed = seed, Shuffle = false }).Train(new TrainingData(features, targets, data.Rows));

        Assert.Equal(TestData.Snapshot(shuffled), TestData.Snapshot(replayed));
        Assert.NotEqual(order, Trainer.EpochOrder(data.Rows, seed, 1));
        Assert.NotEqual(order, Trainer.EpochOrder(data.Rows, seed + 1, 0));
    }

    [Fact]
    public void Train_LinearlySeparableWithSgdMomentum_ReachesHighEvalAccuracy()
    {
        var net = Mlp(inputs: 4);
        var result = new Trainer(net, new TrainerOptions { Epochs = 15, BatchSize = 16, Optimizer = new SgdOptions { LearningRate = 0.05f, Momentum = 0.9f } })
            .Train(TestData.Blobs(300, 4, 1), TestData.Blobs(200, 4, 2));
        Assert.True(result.History.Epochs[^1].EvalMetric >= 0.97, $"eval accuracy {result.History.Epochs[^1].EvalMetric}");
        Assert.True(result.History.Epochs[^1].TrainLoss < result.History.Epochs[0].TrainLoss);
        Assert.Equal(StopReason.Completed, result.Reason);
    }

    [Fact]
    public void Train_Regression_MseFallsFarBelowVariance()
    {
        var net = NeuralNetwork.CreateMlp(new MlpOptions { InputSize = 3, HiddenSizes = [32], OutputSize = 2, Task = PredictionTask.Regression }, 5);
        var train = TestData.Regression(400, 1);
        var eval = TestData.Regression(100, 2);
        var result = new Trainer(net, new TrainerOptions { Epochs = 60, BatchSize = 32, Optimizer = new AdamOptions { LearningRate = 0.01f } }).Train(train, eval);
        Assert.Equal("rmse", result.History.MetricName);
        Assert.True(result.History.Epochs[^1].EvalLoss < 0.01, $"eval mse {result.History.Epochs[^1].EvalLoss}");
    }

    [Fact]
    public void Train_ConvNetOnStrokeImages_LearnsOrientation()
    {
        var net = NeuralNetwork.CreateConvNet(new ConvNetOptions { Height = 8, Width = 8, ConvChannels = [4, 8], Classes = 3 }, 1);
        var result = new Trainer(net, new TrainerOptions { Epochs = 8, BatchSize = 16, Optimizer = new AdamOptions { LearningRate = 0.01f } })
            .Train(TestData.Strokes(240, 8, 1), TestData.Strokes(90, 8, 2));
        Assert.True(result.History.Epochs[^1].EvalMetric >= 0.95, $"eval accuracy {result.History.Epochs[^1].EvalMetric}");
    }

    [Fact]
    public void Train_SameSeed_BitIdenticalWeightsAcrossThreadCounts()
    {
        float[] Run(ulong seed, int threads)
        {
            var net = NeuralNetwork.CreateConvNet(new ConvNetOptions { Height = 8, Width = 8, ConvChannels = [4], HiddenSizes = [16], Dropout = 0.25f, Classes = 3 }, seed);
            new Trainer(net, new TrainerOptions { Epochs = 2, BatchSize = 32, Seed = seed }, new CpuBackend(threads)).Train(TestData.Strokes(150, 8, 1));
            return TestData.Snapshot(net);
        }
        var first = Run(7, 2);
        Assert.Equal(first, Run(7, 2));
        Assert.Equal(first, Run(7, 1));
        Assert.NotEqual(first, Run(8, 2));
    }

    [Fact]
    public void Train_KilledAfterCheckpointThenResumed_EqualsUninterruptedRun()
    {
        const int n = 10;
        var train = TestData.Blobs(200, 4, 1); // 13 batches of 16 per epoch: checkpoints fall mid-epoch
        var eval = TestData.Blobs(60, 4, 2);
        TrainerOptions Options(string? path) => new()
        {
            Epochs = 2, BatchSize = 16, Seed = 3, Optimizer = new AdamOptions { LearningRate = 0.01f },
            EarlyStoppingPatience = 5, CheckpointPath = path, CheckpointEverySteps = n,
        };

        var straight = Mlp(inputs: 4, dropout: 0.2f);
        var straightResult = new Trainer(straight, Options(null)).Train(train, eval);
        Assert.Equal(26, straightResult.Steps);

        var path = Path.Combine(_dir, "ckpt.bin");
        var killed = Mlp(inputs: 4, dropout: 0.2f);
        using (var cts = new CancellationTokenSource())
        {
            var options = Options(path) with { OnStep = p => { if (p.Step == 2 * n + 3) cts.Cancel(); } };
            Assert.Throws<OperationCanceledException>(() => new Trainer(killed, options).Train(train, eval, cts.Token));
        }
        var info = TrainingCheckpoint.ReadInfo(path);
        Assert.Equal(2 * n, info.Step);
        Assert.Equal((1, 7, false), (info.Epoch, info.BatchInEpoch, info.Completed));

        var resumedNet = Mlp(inputs: 4, dropout: 0.2f, seed: 99); // other initial weights: the checkpoint must overwrite them
        var resumed = new Trainer(resumedNet, Options(path)).Train(train, eval);
        Assert.Equal(2 * n, resumed.ResumedFromStep);
        Assert.Equal(straightResult.Steps, resumed.Steps);
        Assert.Equal(TestData.Snapshot(straight), TestData.Snapshot(resumedNet));
        Assert.Equal(straightResult.History.Epochs, resumed.History.Epochs);
        Assert.True(TrainingCheckpoint.ReadInfo(path).Completed);
    }

    [Fact]
    public void Train_MaxStepsThenResume_EqualsUninterruptedRun()
    {
        var train = TestData.Regression(100, 3);
        TrainerOptions Options(string? path, long? max) => new()
        {
            Epochs = 3, BatchSize = 8, Optimizer = new SgdOptions { LearningRate = 0.02f }, CheckpointPath = path, MaxSteps = max,
        };
        var straight = Mlp(inputs: 3, task: PredictionTask.Regression);
        new Trainer(straight, Options(null, null)).Train(train);

        var path = Path.Combine(_dir, "sgd.ckpt");
        var net = Mlp(inputs: 3, task: PredictionTask.Regression);
        Assert.Equal(StopReason.MaxSteps, new Trainer(net, Options(path, 20)).Train(train).Reason);
        var fresh = Mlp(inputs: 3, task: PredictionTask.Regression, seed: 5);
        var result = new Trainer(fresh, Options(path, null)).Train(train);
        Assert.Equal((StopReason.Completed, 39L, 20L), (result.Reason, result.Steps, result.ResumedFromStep!.Value));
        Assert.Equal(TestData.Snapshot(straight), TestData.Snapshot(fresh));
    }

    [Fact]
    public void Train_CompletedCheckpoint_ReturnsWithoutTraining()
    {
        var path = Path.Combine(_dir, "done.ckpt");
        var options = new TrainerOptions { Epochs = 2, BatchSize = 8, CheckpointPath = path };
        var net = Mlp();
        new Trainer(net, options).Train(TestData.Xor());
        var before = TestData.Snapshot(net);
        var steps = 0;
        var again = Mlp(seed: 9);
        var result = new Trainer(again, options with { OnStep = _ => steps++ }).Train(TestData.Xor());
        Assert.Equal(0, steps);
        Assert.Equal(2, result.Steps);
        Assert.Equal(before, TestData.Snapshot(again));
    }

    [Fact]
    public void Train_CheckpointOfOtherArchitecture_ThrowsNamingIt()
    {
        var path = Path.Combine(_dir, "other.ckpt");
        new Trainer(Mlp(), new TrainerOptions { Epochs = 1, CheckpointPath = path }).Train(TestData.Xor());
        var other = NeuralNetwork.CreateMlp(new MlpOptions { InputSize = 2, HiddenSizes = [4], OutputSize = 2 }, 1);
        var e = Assert.Throws<InvalidOperationException>(() => new Trainer(other, new TrainerOptions { Epochs = 1, CheckpointPath = path }).Train(TestData.Xor()));
        Assert.Contains("architecture", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadInfo_CorruptCheckpoint_ThrowsInvalidData()
    {
        var path = Path.Combine(_dir, "corrupt.ckpt");
        new Trainer(Mlp(), new TrainerOptions { Epochs = 1, CheckpointPath = path }).Train(TestData.Xor());
        var bytes = File.ReadAllBytes(path);
        bytes[^20] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.ReadInfo(path));
    }

    [Fact]
    public void Train_NaNLoss_ThrowsNamingStepAndKeepsLastCheckpoint()
    {
        var data = TestData.Blobs(40, 2, 1);
        data.Features[10 * 2] = float.NaN; // row 10 is in the third batch of 4 (no shuffling): step 3
        var path = Path.Combine(_dir, "nan.ckpt");
        var net = Mlp();
        var e = Assert.Throws<TrainingDivergedException>(() =>
            new Trainer(net, new TrainerOptions { Epochs = 1, BatchSize = 4, Shuffle = false, CheckpointPath = path, CheckpointEverySteps = 1 }).Train(data));
        Assert.Equal(3, e.Step);
        Assert.Contains("at step 3", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Equal(2, e.CheckpointStep);
        Assert.Equal(2, TrainingCheckpoint.ReadInfo(path).Step);
        Assert.All(TestData.Snapshot(net), v => Assert.True(float.IsFinite(v))); // the bad step was not applied
    }

    [Fact]
    public void Train_ExplodingLearningRate_ThrowsDiverged()
    {
        var net = Mlp(inputs: 3, task: PredictionTask.Regression);
        var e = Assert.Throws<TrainingDivergedException>(() =>
            new Trainer(net, new TrainerOptions { Epochs = 50, BatchSize = 10, Optimizer = new SgdOptions { LearningRate = 1e6f } }).Train(TestData.Regression(100, 1)));
        Assert.True(double.IsNaN(e.Loss) || double.IsInfinity(e.Loss));
        Assert.Null(e.CheckpointPath);
    }

    [Fact]
    public void Train_EvalGetsWorse_StopsEarlyAndRestoresBestWeights()
    {
        var train = TestData.Blobs(100, 2, 1);
        var eval = TestData.Blobs(100, 2, 2, flipLabels: true); // learning the train set makes eval worse every epoch
        var net = Mlp();
        var result = new Trainer(net, new TrainerOptions { Epochs = 30, BatchSize = 10, EarlyStoppingPatience = 2 }).Train(train, eval);
        Assert.Equal(StopReason.EarlyStopped, result.Reason);
        var epochs = result.History.Epochs;
        Assert.True(epochs.Count < 30);
        var best = epochs.MinBy(e => e.EvalLoss)!;
        Assert.Equal(epochs.Count, best.Epoch + 2);
        Assert.Equal(best.EvalLoss!.Value, Trainer.Evaluate(net, eval).Loss, 12);
    }

    [Fact]
    public void Train_EarlyStoppingWithoutEval_Throws()
    {
        Assert.Throws<ArgumentException>(() => new Trainer(Mlp(), new TrainerOptions { EarlyStoppingPatience = 1 }).Train(TestData.Xor()));
    }

    [Fact]
    public void Train_WrongFeatureCount_Throws()
    {
        Assert.Throws<ArgumentException>(() => new Trainer(Mlp(inputs: 3), new TrainerOptions()).Train(TestData.Xor()));
    }

    [Fact]
    public void History_ToSvgAndJson_HoldOnePointPerEpoch()
    {
        var result = new Trainer(Mlp(inputs: 4), new TrainerOptions { Epochs = 4, BatchSize = 16 }).Train(TestData.Blobs(64, 4, 1), TestData.Blobs(32, 4, 2));
        var svg = XDocument.Parse(result.History.ToSvg());
        XNamespace ns = "http://www.w3.org/2000/svg";
        var lines = svg.Descendants(ns + "polyline").ToList();
        Assert.Equal(4, lines.Count); // loss and metric, train and eval
        Assert.All(lines, l => Assert.Equal(4, l.Attribute("points")!.Value.Split(' ').Length));
        Assert.Contains("\"evalMetric\"", result.History.ToJson(), StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(_dir, "curves.svg"), result.History.ToSvg());
    }
}

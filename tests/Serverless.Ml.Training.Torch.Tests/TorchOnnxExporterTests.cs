using Serverless.Ml.Onnx.Proto;
using Serverless.Ml.Training.Models;
using Serverless.Ml.Training.Torch.Export;
using Serverless.Ml.Training.Training;

namespace Serverless.Ml.Training.Torch.Tests;

// Every export: onnx.checker (full check) accepts it and ONNX Runtime (the official package) reproduces TorchSharp's
// outputs within 1e-4, through the same transform fusion as the managed trainer's export.
public sealed class TorchOnnxExporterTests
{
    private const string Models = "Serverless.Ml.Training.Torch.TestModels.";
    private const double Tolerance = 1e-4;

    private static TorchModel User(string type, IReadOnlyList<int> shape, int outputs = 10) =>
        TorchModel.Create(TorchUserModel.Load(TestSupport.TestModelsAssembly, Models + type), new TorchModelContext { InputShape = shape, OutputSize = outputs, Seed = 1 });

    private static void Train(TorchModel model, TrainingData data, int epochs = 1, float learningRate = 1e-3f) =>
        new TorchTrainer(model, new TrainerOptions { Epochs = epochs, BatchSize = 50, Seed = 1, Optimizer = new AdamOptions { LearningRate = learningRate } }, TorchDeviceKind.Cpu).Train(data);

    [Fact]
    public async Task ExportWithTransform_UserModelsTrainedOnFashion_CheckerAndOrtMatch()
    {
        var train = TestSupport.Fashion(0, 1000);
        var raw = TestSupport.Fashion(1000, 300, raw: true);
        var eval = TestSupport.Fashion(1000, 300);
        using var mlp = User("FashionMlp", [784]);
        using var cnn = User("FashionConvNet", [1, 28, 28]);
        Train(mlp, train, epochs: 2);
        Train(cnn, train, learningRate: 5e-3f);
        var fused = new List<ModelProto>();

        foreach (var (model, bar) in new[] { (mlp, 0.6), (cnn, 0.4) })
        {
            var onnx = TorchOnnxExporter.ExportWithTransform(TestSupport.ScaleTransform(784), model);
            var ort = TestSupport.RunOrt(onnx, "pixels", raw.Features, raw.Rows, "probabilities");
            TestSupport.AssertClose(model.Predict(eval.Features, eval.Rows), ort, Tolerance);
            var accuracy = Enumerable.Range(0, raw.Rows).Count(r => ArgMax(ort.AsSpan(r * 10, 10)) == (int)raw.Targets[r]) / (double)raw.Rows;
            Assert.Equal(TorchTrainer.Evaluate(model, eval).Metric, accuracy, 2);
            Assert.True(accuracy > bar, $"{model.Architecture}: accuracy {accuracy} (chance: 0.1)");
            Assert.Contains(onnx.Graph.Node, n => n.Name.StartsWith("transform/", StringComparison.Ordinal));
            Assert.Contains(onnx.Graph.Node, n => n.Name.StartsWith("model/", StringComparison.Ordinal));
            fused.Add(onnx);
        }
        Assert.Contains(fused[1].Graph.Node, n => n.OpType == "BatchNormalization");
        Assert.Contains(fused[1].Graph.Node, n => n.OpType == "AveragePool");
        await TestSupport.AssertOnnxCheckerAcceptsAsync([.. fused]);
    }

    [Fact]
    public async Task Export_LayerZoo_EveryLayerMatchesOrt()
    {
        var data = TestSupport.Synthetic(300, 144, 4, seed: 3);
        using var model = User("LayerZoo", [1, 12, 12], outputs: 4);
        Train(model, data, epochs: 2); // batch-norm statistics move away from 0 / 1

        var onnx = TorchOnnxExporter.Export(model).Build();

        var ops = onnx.Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.Superset(new HashSet<string> { "Conv", "BatchNormalization", "Relu", "MaxPool", "Erf", "AveragePool", "Flatten", "Gemm", "Tanh", "Sigmoid", "Reshape", "Softmax", "MatMul" }, ops);
        var ort = TestSupport.RunOrt(onnx, "features", data.Features, data.Rows, "probabilities");
        TestSupport.AssertClose(model.Predict(data.Features, data.Rows), ort, Tolerance);
        await TestSupport.AssertOnnxCheckerAcceptsAsync(onnx);
    }

    [Fact]
    public async Task Export_BuiltInMlpRegressorAndConvNet_MatchOrt()
    {
        var rows = 120;
        var x = Enumerable.Range(0, rows * 5).Select(i => (float)Math.Sin(i)).ToArray();
        var y = Enumerable.Range(0, rows * 2).Select(i => (float)Math.Cos(i)).ToArray();
        using var regressor = TorchModel.Mlp(new MlpOptions { InputSize = 5, HiddenSizes = [8, 4], OutputSize = 2, Activation = Compute.Activation.Tanh, Dropout = 0.1f, Task = PredictionTask.Regression }, seed: 2);
        Train(regressor, new TrainingData(x, y, rows));
        var images = TestSupport.Fashion(0, 200);
        using var cnn = TorchModel.ConvNet(new ConvNetOptions { ConvChannels = [4, 8], HiddenSizes = [16], Dropout = 0.2f }, seed: 2);
        Train(cnn, images);

        var regression = TorchOnnxExporter.Export(regressor).Build();
        var conv = TorchOnnxExporter.Export(cnn).Build();

        Assert.Equal("predictions", regression.Graph.Output.Single().Name);
        TestSupport.AssertClose(regressor.Predict(x, rows), TestSupport.RunOrt(regression, "features", x, rows, "predictions"), Tolerance);
        TestSupport.AssertClose(cnn.Predict(images.Features, images.Rows), TestSupport.RunOrt(conv, "features", images.Features, images.Rows, "probabilities"), Tolerance);
        await TestSupport.AssertOnnxCheckerAcceptsAsync(regression, conv);
    }

    [Fact]
    public void Export_UnsupportedLayer_ErrorNamesLayerAndType()
    {
        using var model = User("EluModel", [784]);
        Train(model, TestSupport.Fashion(0, 100)); // it trains; only the export is refused

        var e = Assert.Throws<NotSupportedException>(() => TorchOnnxExporter.Export(model));

        Assert.Contains("Layer 'act' (ELU)", e.Message, StringComparison.Ordinal);
        Assert.Contains("Supported layers: Linear", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_ModelWithItsOwnForward_ErrorSaysNotSequential()
    {
        using var model = User("CustomForwardModel", [784]);
        Train(model, TestSupport.Fashion(0, 100));

        var e = Assert.Throws<NotSupportedException>(() => TorchOnnxExporter.Export(model));

        Assert.Contains("ResidualNet", e.Message, StringComparison.Ordinal);
        Assert.Contains("not a Sequential", e.Message, StringComparison.Ordinal);
    }

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        var best = 0;
        for (var i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }
}

using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Onnx.Testing;
using Serverless.Ml.Training.Compute;
using Serverless.Ml.Training.Export;
using Serverless.Ml.Training.Models;
using Serverless.Ml.Training.Training;

namespace Serverless.Ml.Training.Tests;

/// <summary>Every exported model passes the shared ONNX workout: ORT's output equals in-process inference within 1e-5.</summary>
public sealed class OnnxExportTests
{
    private static void Workout(NeuralNetwork net, TrainingData data)
    {
        var expected = net.Predict(data.Features, data.Rows);
        var name = OnnxExporter.OutputName(net);
        OnnxWorkout.AssertMatches(OnnxExporter.Export(net),
            [NamedTensor.Create(OnnxExporter.InputName, data.Features, data.Rows, net.InputSize)],
            [NamedTensor.Create(name, expected, data.Rows, net.OutputSize)]);
    }

    [Theory]
    [InlineData(Activation.Relu, 0f)]
    [InlineData(Activation.Tanh, 0.3f)]
    [InlineData(Activation.Sigmoid, 0f)]
    public void Export_TrainedMlpClassifier_PassesWorkout(Activation activation, float dropout)
    {
        var net = NeuralNetwork.CreateMlp(new MlpOptions { InputSize = 4, HiddenSizes = [16, 8], OutputSize = 2, Activation = activation, Dropout = dropout }, 1);
        var data = TestData.Blobs(64, 4, 1);
        new Trainer(net, new TrainerOptions { Epochs = 3, BatchSize = 16 }).Train(data);
        Workout(net, data);
    }

    [Fact]
    public void Export_MlpRegressor_OutputsValues()
    {
        var net = NeuralNetwork.CreateMlp(new MlpOptions { InputSize = 3, HiddenSizes = [8], OutputSize = 2, Task = PredictionTask.Regression }, 2);
        var data = TestData.Regression(50, 1);
        new Trainer(net, new TrainerOptions { Epochs = 2, BatchSize = 10 }).Train(data);
        Assert.Equal("predictions", OnnxExporter.OutputName(net));
        Workout(net, data);
    }

    [Fact]
    public void Export_TrainedConvNet_PassesWorkout()
    {
        var net = NeuralNetwork.CreateConvNet(new ConvNetOptions { Height = 8, Width = 8, ConvChannels = [4, 6], HiddenSizes = [12], Dropout = 0.2f, Classes = 3 }, 3);
        var data = TestData.Strokes(48, 8, 1);
        new Trainer(net, new TrainerOptions { Epochs = 2, BatchSize = 16 }).Train(data);
        Workout(net, data);
    }

    [Fact]
    public void Export_ConvNet28x28_ShapesMatchFashionMnistLayout()
    {
        var net = NeuralNetwork.CreateConvNet(new ConvNetOptions(), 4);
        var data = TestData.Strokes(5, 28, 2);
        Workout(net, data);
        using var session = InferenceSession.FromBytes(OnnxExporter.Export(net).ToBytes());
        Assert.Equal(784, session.Inputs[0].Shape[1]);
        Assert.Equal(10, session.Outputs[0].Shape[1]);
    }

    [Fact]
    public void ExportWithTransform_Standardization_TakesRawFeatures()
    {
        // Raw features far from zero mean / unit scale; the model is trained on standardized ones.
        var raw = TestData.Blobs(80, 3, 1);
        for (var i = 0; i < raw.Features.Length; i++) raw.Features[i] = raw.Features[i] * (10 + i % 3) + 100 * (i % 3);
        var mean = new float[3];
        var std = new float[3];
        for (var c = 0; c < 3; c++)
        {
            var column = Enumerable.Range(0, raw.Rows).Select(r => (double)raw.Features[r * 3 + c]).ToArray();
            mean[c] = (float)column.Average();
            std[c] = (float)Math.Sqrt(column.Select(v => (v - mean[c]) * (v - mean[c])).Average());
        }
        var standardized = raw.Features.Select((v, i) => (v - mean[i % 3]) / std[i % 3]).ToArray();
        var net = NeuralNetwork.CreateMlp(new MlpOptions { InputSize = 3, HiddenSizes = [8], OutputSize = 2 }, 5);
        new Trainer(net, new TrainerOptions { Epochs = 5, BatchSize = 16 }).Train(new TrainingData(standardized, raw.Targets, raw.Rows));

        var t = new OnnxGraphBuilder("transform");
        var x = t.Input("raw", OnnxElementType.Float, OnnxDim.Batch, 3);
        t.Output(t.Div(t.Sub(x, t.Initializer("mean", mean, 3)), t.Initializer("std", std, 3)), OnnxExporter.InputName, OnnxDim.Batch, 3);
        var fused = OnnxExporter.ExportWithTransform(t.Build(), net);

        Assert.Equal(["raw"], fused.Graph.Input.Select(i => i.Name));
        var expected = net.Predict(standardized, raw.Rows);
        OnnxWorkout.AssertMatches(fused, [NamedTensor.Create("raw", raw.Features, raw.Rows, 3)], [NamedTensor.Create("probabilities", expected, raw.Rows, 2)]);
    }

    [Fact]
    public void Export_ModelNotMatchingPrediction_FailsWorkout()
    {
        // The workout must be able to fail: a perturbed reference is rejected.
        var net = NeuralNetwork.CreateMlp(new MlpOptions { InputSize = 2, HiddenSizes = [4], OutputSize = 2 }, 1);
        var data = TestData.Xor();
        var wrong = net.Predict(data.Features, 4);
        wrong[0] += 1e-3f;
        Assert.Throws<OnnxWorkoutException>(() => OnnxWorkout.AssertMatches(OnnxExporter.Export(net),
            [NamedTensor.Create("features", data.Features, 4, 2)], [NamedTensor.Create("probabilities", wrong, 4, 2)]));
    }

    [Fact]
    public void Predict_ParallelBackend_SameAsSingleThread()
    {
        var net = NeuralNetwork.CreateMlp(new MlpOptions { InputSize = 4, HiddenSizes = [64], OutputSize = 3 }, 1);
        var data = TestData.Blobs(700, 4, 3);
        Assert.Equal(net.Predict(data.Features, data.Rows, new CpuBackend(1)), net.Predict(data.Features, data.Rows, new CpuBackend(2)));
    }
}

using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Metadata;
using Serverless.Ml.Components;
using Serverless.Ml.Components.Tests;
using Serverless.Ml.Components.Torch;
using Serverless.Ml.Components.Trainer;
using Serverless.Ml.Data.Columnar;
using Serverless.Ml.Data.Idx;
using Serverless.Ml.Data;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Training.Models;
using Serverless.Ml.Transform;
using Serverless.Pipelines;
using Serverless.Serving;
using Serverless.Serving.Rest;
using Serverless.Storage;
using TrainingData = Serverless.Ml.Training.Training.TrainingData;

namespace Serverless.Ml.Training.Torch.Tests.Components;

/// <summary>
/// The Trainer component with <c>engine: torchsharp</c> through the real node runner (SQLite metadata, local blobs):
/// ImageExampleGen over a Fashion-MNIST t10k subset -> StatisticsGen -> SchemaGen -> Transform -> Trainer with a user
/// model from the TestModels assembly; the exported model served by Serverless.Serving.
/// </summary>
public sealed class TorchTrainerComponentTests : IDisposable
{
    private const int SubsetRows = 600;
    private const string TransformSpec = """
        features:
          - { name: image, kind: image, imageMin: 0, imageMax: 255 }
        label: { input: label, kind: classification }
        """;

    private readonly NodeHarness harness = new();

    static TorchTrainerComponentTests() => TorchTrainerEngine.Register(); // what the trainer app does at start-up

    public void Dispose() => harness.Dispose();

    [Fact]
    public async Task Execute_UserConvNet_TrainsExportsAndServedModelMatchesTorchSharp()
    {
        var parameters = UserModel("Serverless.Ml.Training.Torch.TestModels.FashionConvNet", "ckpt");
        parameters["input_shape"] = "1,28,28";
        var results = await harness.RunAsync("p", [.. Upstream(), Trainer(parameters)]);
        var trainer = results["trainer"];
        Assert.True(trainer.Succeeded, trainer.Error);
        var model = trainer.Outputs["model"];
        Assert.Equal("torchsharp", model.Properties["engine"].StringValue);
        Assert.Equal("torchsharp-cpu", model.Properties["backend"].StringValue);
        Assert.True(model.Properties["eval_accuracy"].DoubleValue > 0.3, $"eval accuracy {model.Properties["eval_accuracy"].DoubleValue} (chance is 0.1)");
        var run = trainer.Outputs["model_run"];
        using var training = JsonDocument.Parse(harness.ReadText(run, TrainerExecutor.TrainingInfoPath));
        Assert.Equal("torchsharp-cpu", training.RootElement.GetProperty("backend").GetString());
        Assert.Equal("torchsharp", training.RootElement.GetProperty("engine").GetString());
        Assert.Equal(2, JsonDocument.Parse(harness.ReadText(run, TrainerExecutor.HistoryPath)).RootElement.GetProperty("epochs").GetArrayLength());
        Assert.StartsWith("<svg", harness.ReadText(run, TrainerExecutor.CurvesPath), StringComparison.Ordinal);
        using var info = JsonDocument.Parse(harness.ReadText(model, TrainerExecutor.ModelInfoPath));
        Assert.StartsWith("user:Serverless.Ml.Training.Torch.TestModels.FashionConvNet@", info.RootElement.GetProperty("architecture").GetString(), StringComparison.Ordinal);
        var modelBytes = File.ReadAllBytes(harness.FileOf(model, TrainerExecutor.ModelPath));
        await TestSupport.AssertOnnxCheckerAcceptsAsync(OnnxModelFile.Load(harness.FileOf(model, TrainerExecutor.ModelPath)));

        // TorchSharp's answer: the same model with the trained weights (the node's completed checkpoint restores them).
        var fitted = FittedTransform.Load(harness.FileOf(results["transform"].Outputs["transform_graph"], string.Empty));
        var raw = new ColumnarReader(Directory.GetFiles(harness.FileOf(results["gen"].Outputs["examples"], "Split-eval"), "*" + ColumnarFormat.Extension).Order(StringComparer.Ordinal).ToList()).ReadBatches().First();
        var rows = Math.Min(raw.RowCount, 64);
        var features = fitted.Apply(raw).Features.AsSpan(0, rows * fitted.Width).ToArray();
        var settings = ModelSettings.FromParameters(new ComponentParameters(TrainerComponent.Declaration.ResolveParameters(parameters).Values));
        using var torchModel = TorchTrainerEngine.CreateModel(settings, fitted.Width, 10, PredictionTask.Classification);
        var checkpoint = training.RootElement.GetProperty("checkpoint").GetString()!;
        var restored = new TorchTrainer(torchModel, settings.CreateTrainerOptions(checkpoint, hasEval: false), TorchDeviceKind.Cpu)
            .Train(new TrainingData(features, new float[rows], rows));
        Assert.Equal(trainer.Outputs["model_run"].Properties["steps"].IntValue, restored.Steps);
        var expected = torchModel.Predict(features, rows);

        // Served: the model repository, the version manager, a TF Serving :predict body with the raw eval images.
        var repository = new ModelRepository(new LocalDirectoryBlobStore(harness.Temp.Combine("serving")));
        await repository.PublishVersionAsync("fashion", 1, modelBytes);
        await using var manager = new ModelVersionManager(repository);
        await manager.PollOnceAsync();
        using var handle = manager.Acquire("fashion");
        var image = (Float32TensorColumn)raw["image"];
        var body = new StringBuilder("{\"instances\":[");
        for (var r = 0; r < rows; r++)
        {
            if (r > 0) body.Append(',');
            var pixels = image.GetRow(r);
            body.Append('[');
            for (var y = 0; y < 28; y++)
            {
                if (y > 0) body.Append(',');
                body.Append('[').AppendJoin(',', pixels.Slice(y * 28, 28).ToArray().Select(p => p.ToString("R", CultureInfo.InvariantCulture))).Append(']');
            }

            body.Append(']');
        }

        body.Append("]}");
        using var request = TfServingRequestReader.ReadPredict(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(body.ToString())), handle.Servable.Signature, out _);
        var answer = await handle.Servable.Batcher.SubmitAsync(request);
        var served = answer.Outputs.Single(o => o.Name == "probabilities").Tensor.GetData<float>().AsSpan(answer.RowOffset * 10, answer.Rows * 10).ToArray();
        Assert.Equal(rows, answer.Rows);
        TestSupport.AssertClose(expected, served, 1e-4);
    }

    [Fact]
    public async Task Execute_UserModelWithUnsupportedLayer_FailsBeforeTrainingNamingTheLayer()
    {
        var parameters = UserModel("Serverless.Ml.Training.Torch.TestModels.EluModel", "ckpt-elu");
        parameters["checkpoint_every_steps"] = 1L;
        var results = await harness.RunAsync("p", [.. Upstream(), Trainer(parameters)]);
        var trainer = results["trainer"];
        Assert.Equal(NodeRunStatus.Failed, trainer.Status);
        Assert.Contains("Layer 'act' (ELU) cannot be exported to ONNX", trainer.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.Exists(harness.Temp.Combine("ckpt-elu")) ? Directory.GetFiles(harness.Temp.Combine("ckpt-elu"), "*", SearchOption.AllDirectories) : []);
    }

    [Fact]
    public async Task Execute_UserAssemblyContentChanges_CacheKeyChangesAndTheNodeRetrains()
    {
        var assembly = harness.Temp.Combine("models/Serverless.Ml.Training.Torch.TestModels.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(assembly)!);
        File.Copy(TestSupport.TestModelsAssembly, assembly);
        var parameters = UserModel("Serverless.Ml.Training.Torch.TestModels.FashionMlp", "ckpt-cache");
        parameters["module_file"] = assembly;
        parameters["epochs"] = 1L;

        var first = (await harness.RunAsync("p", [.. Upstream(), Trainer(parameters)]))["trainer"];
        var same = (await harness.RunAsync("p", [.. Upstream(), Trainer(parameters)]))["trainer"];
        using (var stream = new FileStream(assembly, FileMode.Append))
        {
            stream.Write(new byte[16]); // same code, other bytes: another content hash
        }

        var changed = (await harness.RunAsync("p", [.. Upstream(), Trainer(parameters)]))["trainer"];

        Assert.Equal(NodeRunStatus.Complete, first.Status);
        Assert.Equal(NodeRunStatus.Cached, same.Status);
        Assert.Equal(first.CacheKey, same.CacheKey);
        Assert.True(changed.Succeeded, changed.Error);
        Assert.Equal(NodeRunStatus.Complete, changed.Status);
        Assert.NotEqual(first.CacheKey, changed.CacheKey);
    }

    [Fact]
    public async Task Execute_CancelledAfterStep11AndRunAgain_ResumesFromStep8ToTheUninterruptedResult()
    {
        var upstream = await harness.RunAsync("p", Upstream());
        Assert.All(upstream.Values, r => Assert.True(r.Succeeded, r.Error));
        var interrupted = UserModel("Serverless.Ml.Training.Torch.TestModels.FashionMlp", "ckpt-resume");
        interrupted["checkpoint_every_steps"] = 4L;
        var uninterrupted = new Dictionary<string, MetadataValue>(interrupted) { ["checkpoint_dir"] = harness.Temp.Combine("ckpt-reference") };

        var reference = await RunTrainerAsync(harness.Runner, upstream, uninterrupted, "reference");
        Assert.True(reference.Succeeded, reference.Error);

        // The first attempt is stopped (in process, as a killed worker would be) right after step 11: its last checkpoint is step 8.
        using var stop = new CancellationTokenSource();
        var engines = new TrainerEngines().Register(new StopAfterStep(new TorchTrainerEngine(), 11, stop));
        var stopping = new NodeRunner(MlComponents.Register(ComponentRegistry.CreateWithBuiltIns(), harness.Metadata, trainerEngines: engines), harness.Metadata, harness.Blobs);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunTrainerAsync(stopping, upstream, interrupted, "attempt", stop.Token));

        // The activity's next attempt: the same execution id, so the same checkpoint folder.
        var resumed = await RunTrainerAsync(harness.Runner, upstream, interrupted, "attempt");
        Assert.True(resumed.Succeeded, resumed.Error);
        Assert.Equal(8, resumed.Outputs["model_run"].Properties["resumed_from_step"].IntValue);
        Assert.Equal(-1, reference.Outputs["model_run"].Properties["resumed_from_step"].IntValue);
        Assert.Equal(reference.Outputs["model_run"].Properties["steps"].IntValue, resumed.Outputs["model_run"].Properties["steps"].IntValue);
        Assert.Equal(harness.ReadText(reference.Outputs["model_run"], TrainerExecutor.HistoryPath), harness.ReadText(resumed.Outputs["model_run"], TrainerExecutor.HistoryPath));
        Assert.Equal(reference.Outputs["model"].Properties["eval_loss"].DoubleValue, resumed.Outputs["model"].Properties["eval_loss"].DoubleValue);
        Assert.Equal(WeightsOnly(reference.Outputs["model"]), WeightsOnly(resumed.Outputs["model"]));
    }

    [Fact]
    public async Task Execute_BuiltInMlpOnBothEngines_SameStartSameBatchesCloseResults()
    {
        var managed = BuiltIn("managed", "mlp");
        var torch = BuiltIn("torchsharp", "mlp");
        var results = await harness.RunAsync("p", [.. Upstream(), Trainer(managed, "managed"), Trainer(torch, "torch")]);
        Assert.True(results["managed"].Succeeded, results["managed"].Error);
        Assert.True(results["torch"].Succeeded, results["torch"].Error);
        var a = results["managed"].Outputs["model"].Properties;
        var b = results["torch"].Outputs["model"].Properties;
        Assert.Equal("torchsharp-cpu", b["backend"].StringValue);
        Assert.NotEqual("torchsharp-cpu", a["backend"].StringValue);
        Assert.Equal(a["steps"].IntValue, b["steps"].IntValue);

        // The same network, initial weights and batch order: the curves agree closely (float32 kernels differ in rounding).
        var relative = Math.Abs(a["eval_loss"].DoubleValue - b["eval_loss"].DoubleValue) / a["eval_loss"].DoubleValue;
        Assert.True(relative < 1e-3, $"eval loss managed {a["eval_loss"].DoubleValue} vs torchsharp {b["eval_loss"].DoubleValue}");
        using var info = JsonDocument.Parse(harness.ReadText(results["torch"].Outputs["model"], TrainerExecutor.ModelInfoPath));
        Assert.StartsWith("torch:", info.RootElement.GetProperty("architecture").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_BuiltInCnnOnTorchSharp_TrainsAndExports()
    {
        var results = await harness.RunAsync("p", [.. Upstream(), Trainer(BuiltIn("torchsharp", "cnn"))]);
        var trainer = results["trainer"];
        Assert.True(trainer.Succeeded, trainer.Error);
        Assert.Equal("torchsharp-cpu", trainer.Outputs["model"].Properties["backend"].StringValue);
        Assert.True(trainer.Outputs["model"].Properties["eval_accuracy"].DoubleValue > 0.3);
    }

    [Fact]
    public async Task Execute_DeviceCuda_TrainsOnTheGpuOrFailsSayingThereIsNone()
    {
        var parameters = BuiltIn("torchsharp", "mlp");
        parameters["device"] = "cuda";
        var trainer = (await harness.RunAsync("p", [.. Upstream(), Trainer(parameters)]))["trainer"];
        if (TorchRuntime.CudaAvailable)
        {
            Assert.True(trainer.Succeeded, trainer.Error);
            Assert.Equal("torchsharp-cuda", trainer.Outputs["model"].Properties["backend"].StringValue);
        }
        else
        {
            Assert.Equal(NodeRunStatus.Failed, trainer.Status);
            Assert.Contains("setting 'device': cuda was requested but libtorch finds no CUDA device", trainer.Error, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(harness.Temp.Combine("ckpt-builtin"), "*", SearchOption.AllDirectories)); // no checkpoint: nothing trained
        }
    }

    private Dictionary<string, MetadataValue> BuiltIn(string engine, string model) => new()
    {
        ["engine"] = engine,
        ["model"] = model,
        ["hidden_sizes"] = "32",
        ["epochs"] = 1L,
        ["batch_size"] = 32L,
        ["learning_rate"] = 0.003,
        ["seed"] = 5L,
        ["checkpoint_dir"] = harness.Temp.Combine("ckpt-builtin"),
    };

    /// <summary>The exported model without its metadata (which names the execution): the graph and trained weights.</summary>
    private byte[] WeightsOnly(ArtifactRef model)
    {
        var proto = OnnxModelFile.Load(harness.FileOf(model, TrainerExecutor.ModelPath));
        proto.MetadataProps.Clear();
        return Google.Protobuf.MessageExtensions.ToByteArray(proto);
    }

    private async Task<NodeRunResult> RunTrainerAsync(NodeRunner runner, Dictionary<string, NodeRunResult> upstream, Dictionary<string, MetadataValue> parameters, string runId, CancellationToken cancellation = default)
    {
        var graph = PipelineValidator.Validate(new PipelineDefinition { Name = "p", Nodes = [.. Upstream(), Trainer(parameters)] }, harness.Registry, checkPaths: true).GraphOrThrow();
        return await runner.RunAsync(NodeRunRequest.ForNode(graph, "trainer", runId, $"{runId}-trainer", upstream), cancellation);
    }

    private Dictionary<string, MetadataValue> UserModel(string type, string checkpoints) => new()
    {
        ["engine"] = "torchsharp",
        ["device"] = "cpu",
        ["module_file"] = TestSupport.TestModelsAssembly,
        ["model_type"] = type,
        ["custom_config"] = """{"hidden": 32, "dropout": 0.1}""",
        ["epochs"] = 2L,
        ["batch_size"] = 32L,
        ["learning_rate"] = 0.003,
        ["seed"] = 3L,
        ["checkpoint_every_steps"] = 5L,
        ["checkpoint_dir"] = harness.Temp.Combine(checkpoints),
    };

    private NodeDefinition[] Upstream() =>
    [
        Nodes.Node("gen", "ImageExampleGen", new()
        {
            ["input_base"] = FashionSubset(),
            ["input_pattern"] = "subset-images-idx3-ubyte",
            ["labels_pattern"] = "subset-labels-idx1-ubyte",
            ["compression"] = "none",
        }),
        Nodes.Stats("stats", "gen"),
        Nodes.Schema("schema", "stats"),
        Nodes.Node("transform", "Transform", new() { ["spec"] = TransformSpec }, ("examples", "gen.examples"), ("schema", "schema.schema")),
    ];

    private static NodeDefinition Trainer(Dictionary<string, MetadataValue> parameters, string id = "trainer") =>
        Nodes.Node(id, "Trainer", parameters, ("examples", "transform.transformed_examples"), ("transform_graph", "transform.transform_graph"), ("schema", "schema.schema"));

    /// <summary>The first <see cref="SubsetRows"/> images and labels of Fashion-MNIST t10k as IDX files (raw pixels 0..255).</summary>
    private string FashionSubset()
    {
        var folder = harness.Temp.Combine("fashion");
        if (Directory.Exists(folder)) return folder;
        var (_, pixels) = IdxReader.ReadAllBytes(Path.Combine(TestSupport.FashionDirectory, "t10k-images-idx3-ubyte.gz"));
        var (_, labels) = IdxReader.ReadAllBytes(Path.Combine(TestSupport.FashionDirectory, "t10k-labels-idx1-ubyte.gz"));
        Directory.CreateDirectory(folder);
        IdxWriter.WriteUInt8(Path.Combine(folder, "subset-images-idx3-ubyte"), [SubsetRows, 28, 28], pixels.AsSpan(0, SubsetRows * 784));
        IdxWriter.WriteUInt8(Path.Combine(folder, "subset-labels-idx1-ubyte"), [SubsetRows], labels.AsSpan(0, SubsetRows));
        return folder;
    }

    /// <summary>Cancels the node's token right after a given optimizer step (an in-process stand-in for a killed worker).</summary>
    private sealed class StopAfterStep(ITrainerEngine inner, long step, CancellationTokenSource stop) : ITrainerEngine
    {
        public string Name => inner.Name;

        public ITrainedModel Train(TrainerEngineRequest request, CancellationToken cancellation) =>
            inner.Train(request with { OnStep = p => { if (p.Step == step) stop.Cancel(); } }, cancellation);
    }
}

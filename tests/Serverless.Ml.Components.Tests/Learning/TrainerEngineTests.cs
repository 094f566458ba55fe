using Serverless.Metadata;
using Serverless.Ml.Components.Trainer;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.Tests.Learning;

/// <summary>
/// The Trainer's engine seam in a process without TorchSharp (like the function app and the CLI): the managed engine is
/// built in, <c>engine: torchsharp</c> fails naming the trainer app, and the engine settings are checked by name.
/// </summary>
public sealed class TrainerEngineTests : IDisposable
{
    private readonly NodeHarness harness = new();

    public void Dispose() => harness.Dispose();

    [Fact]
    public async Task Execute_EngineTorchSharpWithoutTheEngineRegistered_FailsNamingTheTrainerApp()
    {
        var parameters = LearningNodes.PenguinsTrainer(harness.Temp.Combine("checkpoints"));
        parameters["engine"] = "torchsharp";
        var results = await harness.RunAsync("p", [.. LearningNodes.Data(), LearningNodes.Transform(), LearningNodes.Trainer("trainer", parameters)]);

        var trainer = results["trainer"];
        Assert.Equal(NodeRunStatus.Failed, trainer.Status);
        Assert.Contains("engine 'torchsharp' is available only in the trainer app (functions/Serverless.TrainerApp)", trainer.Error, StringComparison.Ordinal);
        Assert.Contains("has: managed", trainer.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(harness.Temp.Combine("checkpoints")), "nothing was trained");
    }

    [Fact]
    public async Task Execute_EngineRegisteredUnderItsName_TheExecutorUsesIt()
    {
        var engines = new TrainerEngines().Register(new RecordingEngine());
        var registry = MlComponents.Register(ComponentRegistry.CreateWithBuiltIns(), harness.Metadata, trainerEngines: engines);
        var runner = new NodeRunner(registry, harness.Metadata, harness.Blobs);
        var parameters = LearningNodes.PenguinsTrainer(harness.Temp.Combine("checkpoints"));
        parameters["engine"] = "torchsharp";
        parameters["device"] = "cpu";
        var graph = PipelineValidator.Validate(new PipelineDefinition { Name = "p", Nodes = [.. LearningNodes.Data(), LearningNodes.Transform(), LearningNodes.Trainer("trainer", parameters)] }, registry, checkPaths: true).GraphOrThrow();
        var results = new Dictionary<string, NodeRunResult>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            results[node.Id] = await runner.RunAsync(NodeRunRequest.ForNode(graph, node.Id, "r", $"r-{node.Id}", results));
        }

        var trainer = results["trainer"];
        Assert.True(trainer.Succeeded, trainer.Error);
        Assert.Equal("torchsharp", trainer.Outputs["model"].Properties["engine"].StringValue);
        Assert.Equal("recorded-cpu", trainer.Outputs["model_run"].Properties["backend"].StringValue);
    }

    [Theory]
    [InlineData("engine", "pytorch", "parameter 'engine': 'pytorch' is not managed or torchsharp")]
    [InlineData("device", "tpu", "parameter 'device': 'tpu' is not auto, cpu or cuda")]
    [InlineData("device", "cuda", "parameter 'device': cuda needs engine: torchsharp")]
    [InlineData("model_type", "My.Net", "parameter 'model_type' needs 'module_file'")]
    [InlineData("custom_config", "[1]", "parameter 'custom_config': give a JSON object")]
    [InlineData("custom_config", "{\"a\": [1]}", "parameter 'custom_config': 'a' is Array")]
    public void FromParameters_BadEngineSetting_ErrorNamesTheParameter(string name, string value, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => Settings(new() { [name] = value }));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromParameters_UserModel_NeedsTorchSharpAndAType()
    {
        var file = harness.Temp.Write("models/My.dll", "not read here");
        var managed = Assert.Throws<ArgumentException>(() => Settings(new() { ["module_file"] = file, ["model_type"] = "My.Net" }));
        Assert.Contains("parameter 'module_file': a user model needs engine: torchsharp", managed.Message, StringComparison.Ordinal);
        var untyped = Assert.Throws<ArgumentException>(() => Settings(new() { ["module_file"] = file, ["engine"] = "torchsharp" }));
        Assert.Contains("parameter 'model_type': name the model factory type", untyped.Message, StringComparison.Ordinal);

        var settings = Settings(new()
        {
            ["module_file"] = file, ["engine"] = "TorchSharp", ["model_type"] = "My.Net", ["input_shape"] = "1,28,28",
            ["custom_config"] = """{"hidden": 128, "name": "x", "deep": true}""",
        });
        Assert.True(settings.IsUserModel);
        Assert.Equal("torchsharp", settings.Engine);
        Assert.Equal(["deep", "hidden", "name"], settings.CustomConfig.Keys);
        Assert.Equal("128", settings.CustomConfig["hidden"]);
        Assert.Equal([1, 28, 28], settings.ExampleShape(784));
        var shape = Assert.Throws<ArgumentException>(() => settings.ExampleShape(100));
        Assert.Contains("parameter 'input_shape': 1x28x28 does not match the 100 transformed features", shape.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadAndValidate_ModuleFile_ResolvedAgainstThePipelineFileAndMustExist()
    {
        var yaml = $$"""
            name: user_model
            nodes:
              - id: gen
                component: CsvExampleGen
                parameters: { input_base: "{{TestData.DatasetsFolder}}", input_pattern: penguins.csv }
              - id: stats
                component: StatisticsGen
                inputs: { examples: gen.examples }
              - id: schema
                component: SchemaGen
                inputs: { statistics: stats.statistics }
              - id: transform
                component: Transform
                inputs: { examples: gen.examples, schema: schema.schema }
                parameters: { module_file: "{{LearningNodes.PenguinsSpec}}" }
              - id: trainer
                component: Trainer
                inputs: { examples: transform.transformed_examples, transform_graph: transform.transform_graph }
                parameters: { engine: torchsharp, module_file: models/My.Models.dll, model_type: My.Models.Net }
            """;
        var pipeline = harness.Temp.Write("pipelines/user_model.yaml", yaml);

        var missing = PipelineLoader.LoadAndValidate(pipeline, harness.Registry);
        var error = Assert.Single(missing.Errors);
        Assert.Equal("parameters.module_file", error.Field);
        Assert.Contains($"'{harness.Temp.Combine("pipelines/models/My.Models.dll")}' does not exist", error.Message, StringComparison.Ordinal);

        harness.Temp.Write("pipelines/models/My.Models.dll", "any bytes: the validator checks the path, the trainer app loads it");
        var valid = PipelineLoader.LoadAndValidate(pipeline, harness.Registry);
        Assert.True(valid.IsValid, string.Join("\n", valid.Errors));
        Assert.Equal(harness.Temp.Combine("pipelines/models/My.Models.dll"), valid.Graph!.GetNode("trainer").Parameters["module_file"].StringValue);
    }

    [Fact]
    public void Get_UnknownName_SaysItIsNotRegisteredAnywhere()
    {
        var e = Assert.Throws<TrainerEngineUnavailableException>(() => new TrainerEngines().Get("jax"));
        Assert.Contains("engine 'jax' is not registered in any app", e.Message, StringComparison.Ordinal);
        Assert.Equal("jax", e.Engine);
    }

    private static ModelSettings Settings(Dictionary<string, MetadataValue> given)
    {
        var (values, errors) = TrainerComponent.Declaration.ResolveParameters(given);
        Assert.Empty(errors);
        return ModelSettings.FromParameters(new ComponentParameters(values));
    }

    /// <summary>Stands in for the trainer app's engine: trains with the managed engine, reports its own backend.</summary>
    private sealed class RecordingEngine : ITrainerEngine
    {
        public string Name => TrainerEngines.TorchSharp;

        public ITrainedModel Train(TrainerEngineRequest request, CancellationToken cancellation)
        {
            var inner = ManagedTrainerEngine.Instance.Train(request with { Settings = request.Settings with { Engine = TrainerEngines.Managed, Device = "auto" } }, cancellation);
            return new Renamed(inner);
        }

        private sealed class Renamed(ITrainedModel inner) : ITrainedModel
        {
            public Ml.Training.Training.TrainingResult Result => inner.Result with { Backend = "recorded-cpu" };

            public Ml.Training.Training.Evaluation? Eval => inner.Eval;

            public string Architecture => inner.Architecture;

            public string OutputName => inner.OutputName;

            public Ml.Onnx.Proto.ModelProto ExportWithTransform(Ml.Onnx.Proto.ModelProto transform) => inner.ExportWithTransform(transform);

            public void Dispose() => inner.Dispose();
        }
    }
}

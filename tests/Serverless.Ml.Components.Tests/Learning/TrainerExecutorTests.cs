using System.Text.Json;
using Serverless.Ml.Components.Trainer;
using Serverless.Ml.Data.Columnar;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Onnx.Testing;
using Serverless.Ml.Training.Training;
using Serverless.Ml.Transform;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.Tests.Learning;

public sealed class TrainerExecutorTests : IDisposable
{
    private readonly NodeHarness harness = new();

    public void Dispose() => harness.Dispose();

    private string Checkpoints => harness.Temp.Combine("checkpoints");

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void CheckpointPath_EmptyRootWithHostScratch_PrivateFolderInsideScratchNotSharedTemp()
    {
        var scratch = harness.Temp.Combine("scratch");
        var context = new ExecutorContext { PipelineName = "p", RunId = "r", NodeId = "trainer", ExecutionId = "r-1-trainer", BlobStore = new Storage.LocalDirectoryBlobStore(harness.Temp.Combine("blobs")), ScratchDirectory = scratch };

        var path = TrainerExecutor.CheckpointPath(string.Empty, context);

        Assert.Equal(Path.Combine(scratch, "checkpoints", "p", "trainer", "r-1-trainer", "checkpoint.bin"), path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(scratch, "checkpoints")));
    }

    [Fact]
    public async Task Execute_Penguins_EvalAccuracyAtLeast097AndOnnxMatchesInProcess()
    {
        var results = await harness.RunAsync("p", [.. LearningNodes.Data(), LearningNodes.Transform(), LearningNodes.Trainer("trainer", LearningNodes.PenguinsTrainer(Checkpoints))]);
        var trainer = results["trainer"];
        Assert.True(trainer.Succeeded, trainer.Error);
        var model = trainer.Outputs["model"];
        var accuracy = model.Properties["eval_accuracy"].DoubleValue;
        Assert.True(accuracy >= 0.97, $"penguins_eval_accuracy {accuracy:F4} < 0.97");
        Assert.Equal(Environment.ProcessId, model.Properties["worker_pid"].IntValue);
        Assert.Equal("[\"Adelie\",\"Gentoo\",\"Chinstrap\"]", model.Properties["classes"].StringValue);
        var run = trainer.Outputs["model_run"];
        Assert.StartsWith("<svg", harness.ReadText(run, TrainerExecutor.CurvesPath), StringComparison.Ordinal);
        Assert.NotEmpty(JsonDocument.Parse(harness.ReadText(run, TrainerExecutor.HistoryPath)).RootElement.GetProperty("epochs").EnumerateArray());

        // In process: the fitted transform and the same (deterministic) training give the reference predictions;
        // ORT runs the one exported file on raw eval rows, save -> reload -> run twice, within 1e-5.
        var transform = results["transform"];
        var fitted = FittedTransform.Load(harness.FileOf(transform.Outputs["transform_graph"], string.Empty));
        var label = LabelInfo.Of(fitted);
        var examples = transform.Outputs["transformed_examples"];
        var train = Read(examples, "train", label);
        var eval = Read(examples, "eval", label);
        var settings = ModelSettings.FromParameters(ResolvedTrainerParameters());
        var reference = ModelTraining.Train(settings, train, eval, label, null, null, default);
        Assert.Equal(accuracy, reference.Eval!.Value.Metric, 12);

        var raw = new ColumnarReader(Directory.GetFiles(harness.FileOf(results["gen"].Outputs["examples"], "Split-eval"), "*.smlc")).ReadBatches().First();
        var features = fitted.Apply(raw);
        var expected = reference.Network.Predict(features.Features, raw.RowCount);
        OnnxWorkout.AssertMatches(File.ReadAllBytes(harness.FileOf(model, TrainerExecutor.ModelPath)), fitted.ToOnnxInputs(raw),
            [NamedTensor.Create("probabilities", expected, raw.RowCount, 3)]);
    }

    [Fact]
    public async Task Execute_NanLoss_FailsNamingTheStep()
    {
        var parameters = LearningNodes.PenguinsTrainer(Checkpoints);
        parameters["optimizer"] = "sgd";
        parameters["learning_rate"] = 1e30;
        parameters["early_stopping_patience"] = 0L;
        var results = await harness.RunAsync("p", [.. LearningNodes.Data(), LearningNodes.Transform(), LearningNodes.Trainer("trainer", parameters)]);
        var trainer = results["trainer"];
        Assert.False(trainer.Succeeded);
        Assert.Contains("TrainingDivergedException", trainer.Error, StringComparison.Ordinal);
        Assert.Matches("at step [0-9]+ \\(epoch [0-9]+\\)", trainer.Error);
    }

    [Fact]
    public async Task Execute_SameExecutionIdAfterAnInterruptedRun_ResumesFromTheCheckpoint()
    {
        // A first attempt that stopped after its step-50 checkpoint (a completed checkpoint would return at once).
        var results = await harness.RunAsync("p", [.. LearningNodes.Data(), LearningNodes.Transform()]);
        var fitted = FittedTransform.Load(harness.FileOf(results["transform"].Outputs["transform_graph"], string.Empty));
        var label = LabelInfo.Of(fitted);
        var examples = results["transform"].Outputs["transformed_examples"];
        var settings = ModelSettings.FromParameters(ResolvedTrainerParameters());
        var context = new ExecutorContext { PipelineName = "p", RunId = "run2", NodeId = "trainer", ExecutionId = "run2-trainer", BlobStore = harness.Blobs };
        var checkpoint = TrainerExecutor.CheckpointPath(Checkpoints, context);
        Directory.CreateDirectory(Path.GetDirectoryName(checkpoint)!);
        var network = settings.CreateNetwork(fitted.Width, 3, label.Task);
        new Ml.Training.Training.Trainer(network, settings.CreateTrainerOptions(checkpoint, true) with { MaxSteps = 50 })
            .Train(Read(examples, "train", label), Read(examples, "eval", label));

        // The node runner's second run ids the execution "run2-trainer": the same folder, so training resumes.
        var second = await harness.RunAsync("p", [.. LearningNodes.Data(), LearningNodes.Transform(), LearningNodes.Trainer("trainer", LearningNodes.PenguinsTrainer(Checkpoints))]);
        var trainer = second["trainer"];
        Assert.True(trainer.Succeeded, trainer.Error);
        Assert.Equal(50, trainer.Outputs["model_run"].Properties["resumed_from_step"].IntValue);
    }

    [Fact]
    public void CheckLoads_FileOnnxRuntimeRejects_ErrorNamesFileAndCarriesOrtText()
    {
        var file = harness.Temp.Write("broken.onnx", "this is not a protobuf model");
        var e = Assert.Throws<InvalidDataException>(() => TrainerExecutor.CheckLoads(file, "model.onnx"));
        Assert.Contains("ONNX Runtime rejected the model file 'model.onnx'", e.Message, StringComparison.Ordinal);
        Assert.IsType<OnnxRuntimeException>(e.InnerException);
        Assert.Contains(e.InnerException!.Message, e.Message, StringComparison.Ordinal);
    }

    private TrainingData Read(ArtifactRef examples, string split, LabelInfo label)
    {
        var files = Directory.GetFiles(harness.FileOf(examples, $"Split-{split}"), "*.smlc").Order(StringComparer.Ordinal).ToList();
        var rows = TransformedExamples.ReadAll(files);
        var keep = Enumerable.Range(0, rows.Rows).Where(r => rows.Labels![r] >= 0).ToList();
        Assert.Equal(rows.Rows, keep.Count);
        return new TrainingData(rows.Features, rows.Labels!, rows.Rows);
    }

    private ComponentParameters ResolvedTrainerParameters() =>
        new(TrainerComponent.Declaration.ResolveParameters(LearningNodes.PenguinsTrainer(Checkpoints)).Values);
}

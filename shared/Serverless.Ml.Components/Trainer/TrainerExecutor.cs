using System.Text.Json;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Proto;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Training.Models;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.Trainer;

/// <summary>
/// Runs <see cref="TrainerComponent"/>: reads the transformed splits, trains with checkpoints in a folder named by the
/// execution id (stable across retries of the activity, so a killed worker's retry resumes from the last checkpoint
/// instead of starting over), exports transform + network as one ONNX file that ONNX Runtime must load, and writes
/// the curves.
/// </summary>
/// <remarks>
/// Failure semantics: a NaN or infinite loss fails the node with the library's message (the step, the epoch and the
/// last good checkpoint, which is kept); a transform graph or exported model that ONNX Runtime rejects fails it with
/// ORT's error text and the artifact file's name. The checkpoint folder is local (on a cloud deployment: a volume
/// mounted into every trainer replica) and is left in place after success, so a re-delivered activity returns at once.
/// </remarks>
public sealed class TrainerExecutor : IComponentExecutor
{
    private readonly TrainerEngines _engines;

    /// <summary>An executor that trains with the engines of <paramref name="engines"/> (default: <see cref="TrainerEngines.Default"/>).</summary>
    public TrainerExecutor(TrainerEngines? engines = null) => _engines = engines ?? TrainerEngines.Default;

    /// <summary>The model file inside a Model artifact.</summary>
    public const string ModelPath = "model.onnx";

    /// <summary>The model description (classes, inputs, output, settings, eval figures) inside a Model artifact.</summary>
    public const string ModelInfoPath = "model_info.json";

    /// <summary>Per-epoch curves (JSON) inside a ModelRun artifact.</summary>
    public const string HistoryPath = "history.json";

    /// <summary>The curves plot inside a ModelRun artifact.</summary>
    public const string CurvesPath = "curves.svg";

    /// <summary>The run facts (steps, resume, stop reason, worker process) inside a ModelRun artifact.</summary>
    public const string TrainingInfoPath = "training.json";

    /// <summary>The tuned values file inside a HyperParameters artifact.</summary>
    public const string HyperParametersPath = "hyperparameters.json";

    /// <summary>
    /// The checkpoint file of one execution: <c>{root}/{pipeline}/{node}/{executionId}/checkpoint.bin</c>. An empty
    /// <paramref name="root"/> means <c>$SERVERLESS_CHECKPOINTS</c>, else <c>checkpoints</c> in the host's scratch root, else
    /// <c>{home}/scratch/checkpoints</c> (created 0700; never a fixed shared folder under the system temp directory).
    /// </summary>
    public static string CheckpointPath(string root, ExecutorContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var folder = string.IsNullOrEmpty(root)
            ? Environment.GetEnvironmentVariable("SERVERLESS_CHECKPOINTS") is { Length: > 0 } env ? env : PrivateFiles.CreateDirectory(Path.Combine(context.ScratchDirectory ?? DefaultScratch(), "checkpoints"))
            : root;
        return Path.Combine(folder, context.PipelineName, context.NodeId, context.ExecutionId, "checkpoint.bin");
    }

    private static string DefaultScratch() => Path.Combine(
        Environment.GetEnvironmentVariable("SERVERLESS_HOME") is { Length: > 0 } home ? home : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".serverless-ml"),
        "scratch");

    /// <inheritdoc />
    public async Task ExecuteAsync(
        IReadOnlyDictionary<string, InputArtifact> inputs,
        IReadOnlyDictionary<string, OutputArtifact> outputs,
        ComponentParameters parameters,
        ExecutorContext context,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(context);
        var settings = ModelSettings.FromParameters(parameters);
        HyperParameterValues? tuned = null;
        if (inputs.TryGetValue("hyperparameters", out var hp))
        {
            tuned = ReadHyperParameters(await ArtifactFiles.ReadTextAsync(hp, HyperParametersPath, cancellation).ConfigureAwait(false));
            settings = settings.With(tuned);
            settings.Validate();
        }

        // Before any input is read: this process must have the engine (torchsharp lives in the trainer app only).
        var engine = _engines.Get(settings.Engine);

        var examples = inputs["examples"];
        var graph = inputs["transform_graph"];
        var scratch = ArtifactFiles.NewScratch(context);
        try
        {
            // ORT must accept the transform graph before hours of training go into a model that embeds it.
            var transformFile = await ArtifactFiles.DownloadAsync(graph, Ml.Transform.FittedTransform.OnnxFileName, scratch, cancellation).ConfigureAwait(false);
            CheckLoads(transformFile, $"{graph.Artifact.Uri}/{Ml.Transform.FittedTransform.OnnxFileName}");
            var fitted = await TrainingInputs.ReadTransformAsync(graph.OpenReadAsync, cancellation).ConfigureAwait(false);
            var label = LabelInfo.Of(fitted);
            var paths = examples.Files.Select(f => f.Path).ToList();
            var trainSplit = parameters.GetString("train_split");
            var train = await TrainingInputs.ReadSplitAsync(examples.OpenReadAsync, TrainingInputs.ShardsOf(paths, trainSplit), label, scratch, cancellation).ConfigureAwait(false)
                ?? throw new InvalidDataException($"examples '{examples.Artifact.Uri}' have no transformed shards for split '{trainSplit}' (is it Transform's transformed_examples?)");
            var eval = await TrainingInputs.ReadSplitAsync(examples.OpenReadAsync, TrainingInputs.ShardsOf(paths, parameters.GetString("eval_split")), label, scratch, cancellation).ConfigureAwait(false);

            var checkpoint = CheckpointPath(parameters.GetString("checkpoint_dir"), context);
            Directory.CreateDirectory(Path.GetDirectoryName(checkpoint)!);
            using var trained = await Task.Run(() => engine.Train(new TrainerEngineRequest
            {
                Settings = settings, Train = train, Eval = eval, Task = label.Task, Outputs = label.Outputs, CheckpointPath = checkpoint,
            }, cancellation), cancellation).ConfigureAwait(false);
            var result = trained.Result;

            var model = trained.ExportWithTransform(OnnxModelFile.Load(transformFile));
            if (label.Classes.Count > 0) ModelClassLabels.Write(model, label.Classes); // :classify and the Evaluator read them here
            AddMetadata(model, "task", label.Task.ToString().ToLowerInvariant());
            AddMetadata(model, "execution_id", context.ExecutionId);
            AddMetadata(model, "engine", engine.Name);
            var modelFile = Path.Combine(scratch, ModelPath);
            OnnxModelFile.Save(model, modelFile);
            CheckLoads(modelFile, ModelPath);

            var process = Environment.ProcessId;
            var info = new
            {
                task = label.Task.ToString().ToLowerInvariant(),
                classes = label.Classes,
                inputs = fitted.RawInputs.Select(c => new { name = c.Name, kind = c.Kind.ToString() }),
                output = trained.OutputName,
                architecture = trained.Architecture,
                engine = engine.Name,
                backend = result.Backend,
                settings,
                tuned,
                eval_loss = trained.Eval?.Loss,
                eval_metric = trained.Eval?.Metric,
            };
            var modelOut = outputs["model"];
            await modelOut.WriteFileAsync(ModelPath, modelFile, cancellation).ConfigureAwait(false);
            await modelOut.WriteTextAsync(ModelInfoPath, JsonSerializer.Serialize(info, JsonOptions), cancellation).ConfigureAwait(false);
            var runOut = outputs["model_run"];
            await runOut.WriteTextAsync(HistoryPath, result.History.ToJson(), cancellation).ConfigureAwait(false);
            await runOut.WriteTextAsync(CurvesPath, result.History.ToSvg(), cancellation).ConfigureAwait(false);
            await runOut.WriteTextAsync(TrainingInfoPath, JsonSerializer.Serialize(new
            {
                steps = result.Steps,
                resumed_from_step = result.ResumedFromStep,
                stop_reason = result.Reason.ToString(),
                epochs = result.History.Epochs.Count,
                engine = engine.Name,
                backend = result.Backend,
                checkpoint,
                worker_pid = process,
                worker_host = Environment.MachineName,
            }, JsonOptions), cancellation).ConfigureAwait(false);

            foreach (var output in new[] { modelOut, runOut })
            {
                output.Properties["worker_pid"] = (long)process;
                output.Properties["steps"] = result.Steps;
                output.Properties["resumed_from_step"] = result.ResumedFromStep ?? -1L;
                output.Properties["engine"] = engine.Name;
                output.Properties["backend"] = result.Backend;
                if (trained.Eval is { } e)
                {
                    output.Properties["eval_loss"] = e.Loss;
                    output.Properties[label.Task == PredictionTask.Classification ? "eval_accuracy" : "eval_rmse"] = e.Metric;
                }
            }

            modelOut.Properties["classes"] = JsonSerializer.Serialize(label.Classes);
            modelOut.Properties["task"] = label.Task.ToString().ToLowerInvariant();
            runOut.Properties["stop_reason"] = result.Reason.ToString();
        }
        finally
        {
            ArtifactFiles.DeleteScratch(scratch);
        }
    }

    internal static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>Parses <c>hyperparameters.json</c>: <c>{"values": {...}}</c> as the Tuner writes it.</summary>
    internal static HyperParameterValues ReadHyperParameters(string json)
    {
        using var document = JsonDocument.Parse(json);
        var values = document.RootElement.TryGetProperty("values", out var v) ? v : document.RootElement;
        return values.Deserialize<HyperParameterValues>() ?? throw new InvalidDataException("hyperparameters.json has no values");
    }

    /// <summary>Opens <paramref name="file"/> in ONNX Runtime; its rejection becomes an error naming <paramref name="name"/>.</summary>
    /// <exception cref="InvalidDataException">ORT rejected the model; ORT's text is in the message.</exception>
    internal static void CheckLoads(string file, string name)
    {
        try
        {
            using var session = InferenceSession.FromFile(file);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"ONNX Runtime rejected the model file '{name}': {e.Message}", e);
        }
    }

    /// <summary>Sets a metadata entry, replacing one of the same key (onnx.checker refuses duplicate keys).</summary>
    private static void AddMetadata(ModelProto model, string key, string value)
    {
        for (var i = model.MetadataProps.Count - 1; i >= 0; i--)
        {
            if (model.MetadataProps[i].Key == key) model.MetadataProps.RemoveAt(i);
        }

        model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
    }
}

using Serverless.Ml.Components.Trainer;
using Serverless.Ml.Onnx.Proto;
using Serverless.Ml.Training.Models;
using Serverless.Ml.Training.Torch;
using Serverless.Ml.Training.Torch.Export;
using Serverless.Ml.Training.Training;

namespace Serverless.Ml.Components.Torch;

/// <summary>
/// The Trainer's <c>engine: torchsharp</c>: the built-in mlp/cnn configurations as TorchSharp modules (the same layers
/// and initial weights as the managed engine) or a user model (<c>module_file</c> + <c>model_type</c>), trained by
/// <see cref="TorchTrainer"/> on <c>device</c> with the node's checkpoint (exact resume), exported through our graph builder
/// fused with the transform graph. The trainer app registers it with <see cref="Register"/>.
/// </summary>
/// <remarks>
/// The model is exported once before training, so a layer without an ONNX counterpart fails the node at once, naming the
/// layer, instead of after hours of training. <see cref="TrainingResult.Backend"/> is <c>torchsharp-cpu</c> or
/// <c>torchsharp-cuda</c>.
/// </remarks>
public sealed class TorchTrainerEngine : ITrainerEngine
{
    /// <inheritdoc />
    public string Name => TrainerEngines.TorchSharp;

    /// <summary>
    /// Registers the engine in <paramref name="engines"/> (default: <see cref="TrainerEngines.Default"/>, the set every
    /// Trainer component of the process uses). Call once at start-up of the app that trains with TorchSharp.
    /// </summary>
    /// <returns>The set.</returns>
    public static TrainerEngines Register(TrainerEngines? engines = null) => (engines ?? TrainerEngines.Default).Register(new TorchTrainerEngine());

    /// <inheritdoc />
    public ITrainedModel Train(TrainerEngineRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        var settings = request.Settings;
        var device = TorchDevices.Parse(settings.Device);
        _ = TorchDevices.Resolve(device); // device: cuda without a GPU fails before the model is built
        var model = CreateModel(settings, request.Train.FeatureCount, request.Outputs, request.Task);
        try
        {
            _ = TorchOnnxExporter.Export(model); // an unsupported layer fails here, before training
            var trainer = new TorchTrainer(model, settings.CreateTrainerOptions(request.CheckpointPath, request.Eval is not null, request.OnStep), device);
            var result = trainer.Train(request.Train, request.Eval, cancellation);
            var eval = request.Eval is null ? (Evaluation?)null : TorchTrainer.Evaluate(model, request.Eval);
            return new Trained(model, result, eval);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The model the settings describe, before training: a user model built by its factory (seeded with the settings' seed)
    /// or the built-in configuration converted from the managed network (same initial weights).
    /// </summary>
    /// <exception cref="ArgumentException">A shape does not fit the features, or the user model cannot be loaded (named).</exception>
    public static TorchModel CreateModel(ModelSettings settings, int features, int outputs, PredictionTask task)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.IsUserModel)
        {
            return TorchModel.FromNetwork(settings.CreateNetwork(features, outputs, task), settings.ExampleShape(features));
        }

        var user = TorchUserModel.Load(settings.ModuleFile, settings.ModelType);
        return TorchModel.Create(user, new TorchModelContext
        {
            InputShape = settings.ExampleShape(features),
            OutputSize = outputs,
            Task = task,
            Parameters = settings.CustomConfig,
            Seed = unchecked((ulong)settings.Seed),
        });
    }

    private sealed class Trained(TorchModel model, TrainingResult result, Evaluation? eval) : ITrainedModel
    {
        public TrainingResult Result => result;

        public Evaluation? Eval => eval;

        public string Architecture => model.Architecture;

        public string OutputName => TorchOnnxExporter.OutputName(model);

        public ModelProto ExportWithTransform(ModelProto transform) => TorchOnnxExporter.ExportWithTransform(transform, model);

        public void Dispose() => model.Dispose();
    }
}

using Serverless.Ml.Onnx.Proto;
using Serverless.Ml.Training.Compute;
using Serverless.Ml.Training.Export;
using Serverless.Ml.Training.Models;
using Serverless.Ml.Training.Training;

namespace Serverless.Ml.Components.Trainer;

/// <summary>The built-in engine (<c>engine: managed</c>): our own trainer and ONNX exporter, in every process.</summary>
public sealed class ManagedTrainerEngine : ITrainerEngine
{
    private ManagedTrainerEngine()
    {
    }

    /// <summary>The one instance (it holds no state).</summary>
    public static ManagedTrainerEngine Instance { get; } = new();

    /// <inheritdoc />
    public string Name => TrainerEngines.Managed;

    /// <inheritdoc />
    public ITrainedModel Train(TrainerEngineRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        var run = ModelTraining.Train(request.Settings, request.Train, request.Eval, request.Task, request.Outputs, request.CheckpointPath, null, cancellation, onStep: request.OnStep);
        return new Trained(run);
    }

    private sealed class Trained(ModelTraining.Run run) : ITrainedModel
    {
        public TrainingResult Result => run.Result;

        public Evaluation? Eval => run.Eval;

        public string Architecture => run.Network.Architecture;

        public string OutputName => OnnxExporter.OutputName(run.Network);

        public ModelProto ExportWithTransform(ModelProto transform) => OnnxExporter.ExportWithTransform(transform, run.Network);

        public void Dispose()
        {
        }
    }
}

/// <summary>One managed training run as the Trainer and every Tuner trial do it.</summary>
internal static class ModelTraining
{
    public sealed record Run(NeuralNetwork Network, TrainingResult Result, Evaluation? Eval);

    /// <summary>Builds the network and trains it; <paramref name="epochs"/> overrides the settings' (a Hyperband budget).</summary>
    public static Run Train(ModelSettings settings, TrainingData train, TrainingData? eval, LabelInfo label, string? checkpoint, int? epochs, CancellationToken cancellation, IComputeBackend? backend = null) =>
        Train(settings, train, eval, label.Task, label.Outputs, checkpoint, epochs, cancellation, backend);

    /// <summary>Builds the network for <paramref name="outputs"/> classes or values and trains it.</summary>
    public static Run Train(
        ModelSettings settings, TrainingData train, TrainingData? eval, PredictionTask task, int outputs, string? checkpoint, int? epochs,
        CancellationToken cancellation, IComputeBackend? backend = null, Action<TrainingProgress>? onStep = null)
    {
        var network = settings.CreateNetwork(train.FeatureCount, outputs, task);
        var options = (settings with { Epochs = epochs ?? settings.Epochs }).CreateTrainerOptions(checkpoint, eval is not null, onStep);
        var trainer = new Ml.Training.Training.Trainer(network, options, backend);
        var result = trainer.Train(train, eval, cancellation);
        Evaluation? evaluation = eval is null ? null : Ml.Training.Training.Trainer.Evaluate(network, eval, backend);
        return new Run(network, result, evaluation);
    }
}

using Serverless.Ml.Onnx.Proto;
using Serverless.Ml.Training.Models;
using Serverless.Ml.Training.Training;

namespace Serverless.Ml.Components.Trainer;

/// <summary>
/// A way to train the Trainer's model, chosen by the node's <c>engine</c> parameter: the managed engine is built in;
/// others (TorchSharp) live in projects only some apps reference and are registered there (<see cref="TrainerEngines"/>),
/// so the function app and the CLI do not carry their native libraries.
/// </summary>
/// <remarks>
/// The executor reads the inputs, picks the engine, calls <see cref="Train"/> and writes the same outputs whichever
/// engine trained: the model fused with the transform graph, history.json, curves.svg and training.json. An engine
/// must honour the request's checkpoint path (resume exactly from it when it exists; a completed checkpoint returns at
/// once), so a killed worker's redelivered activity continues where it stopped.
/// </remarks>
public interface ITrainerEngine
{
    /// <summary>The name a pipeline gives in the Trainer's <c>engine</c> parameter.</summary>
    string Name { get; }

    /// <summary>Builds the model the settings describe and trains it.</summary>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the checkpoint holds the progress.</exception>
    /// <exception cref="ArgumentException">A setting does not fit the data or the engine (named).</exception>
    /// <exception cref="NotSupportedException">The model cannot be exported to ONNX (checked before training; the layer is named).</exception>
    ITrainedModel Train(TrainerEngineRequest request, CancellationToken cancellation);
}

/// <summary>What an engine trains on.</summary>
public sealed record TrainerEngineRequest
{
    /// <summary>The resolved settings (parameters and tuned values).</summary>
    public required ModelSettings Settings { get; init; }

    /// <summary>The train split's transformed rows.</summary>
    public required TrainingData Train { get; init; }

    /// <summary>The eval split's rows, or null (no eval metrics, no early stopping).</summary>
    public TrainingData? Eval { get; init; }

    /// <summary>Classification or regression (from the transform's label).</summary>
    public required PredictionTask Task { get; init; }

    /// <summary>Classes (classification) or target values (regression).</summary>
    public required int Outputs { get; init; }

    /// <summary>The checkpoint file (resumed from when it exists); null: no checkpoints.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Called after every optimizer step (progress reporting).</summary>
    public Action<TrainingProgress>? OnStep { get; init; }
}

/// <summary>A trained model as the executor needs it: the run's facts and an ONNX export fused with the transform graph.</summary>
public interface ITrainedModel : IDisposable
{
    /// <summary>Steps, resume point, stop reason, curves and backend (e.g. <c>cpu-avx2fma-x2</c>, <c>torchsharp-cuda</c>).</summary>
    TrainingResult Result { get; }

    /// <summary>Loss and metric on the eval split after training; null without one.</summary>
    Evaluation? Eval { get; }

    /// <summary>The canonical architecture string (also in the checkpoint header).</summary>
    string Architecture { get; }

    /// <summary>The served model's output name: <c>probabilities</c> or <c>predictions</c>.</summary>
    string OutputName { get; }

    /// <summary>One ONNX model: <paramref name="transform"/> (raw features in) feeding the trained network.</summary>
    ModelProto ExportWithTransform(ModelProto transform);
}

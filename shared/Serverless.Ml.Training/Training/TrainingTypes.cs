using System.Globalization;
using Serverless.Ml.Training.Compute;

namespace Serverless.Ml.Training.Training;

/// <summary>
/// Rows of features and targets in memory: features [rows, featureCount] (images flattened NCHW), targets
/// [rows, 1] holding class indices for classification or [rows, outputs] values for regression.
/// </summary>
public sealed class TrainingData
{
    /// <summary>Wraps the arrays (not copied).</summary>
    public TrainingData(float[] features, float[] targets, int rows)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        if (features.Length % rows != 0) throw new ArgumentException($"{features.Length} features do not split into {rows} rows.", nameof(features));
        if (targets.Length % rows != 0 || targets.Length == 0) throw new ArgumentException($"{targets.Length} targets do not split into {rows} rows.", nameof(targets));
        Features = features;
        Targets = targets;
        Rows = rows;
    }

    /// <summary>Row-major features.</summary>
    public float[] Features { get; }

    /// <summary>Row-major targets.</summary>
    public float[] Targets { get; }

    /// <summary>Number of rows.</summary>
    public int Rows { get; }

    /// <summary>Features per row.</summary>
    public int FeatureCount => Features.Length / Rows;

    /// <summary>Targets per row.</summary>
    public int TargetWidth => Targets.Length / Rows;
}

/// <summary>Settings of one training run. Defaults are documented per property.</summary>
public sealed record TrainerOptions
{
    /// <summary>Passes over the training data. Default 10.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Rows per mini-batch (the last batch of an epoch may be smaller). Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Adam (default, lr 1e-3) or SGD with momentum.</summary>
    public OptimizerOptions Optimizer { get; init; } = new AdamOptions();

    /// <summary>Seed of the shuffling and dropout streams (weights take theirs from the network). Default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>Shuffle rows every epoch. Default true.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Stop after this many epochs without an eval-loss improvement, restoring the best weights. Null (default): off.</summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>An eval loss counts as an improvement when it is below the best by more than this. Default 0.</summary>
    public double EarlyStoppingMinDelta { get; init; }

    /// <summary>Checkpoint file; when it exists at start, training resumes from it. Null (default): no checkpoints.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Write a checkpoint every this many steps (and always at the end). Default 0: only at the end.</summary>
    public int CheckpointEverySteps { get; init; }

    /// <summary>Stop (without completing) once this many optimizer steps are done. Null (default): no limit.</summary>
    public long? MaxSteps { get; init; }

    /// <summary>Called after every step (progress reporting; tests use it to interrupt a run).</summary>
    public Action<TrainingProgress>? OnStep { get; init; }

    /// <summary>Checks the values; throws <see cref="ArgumentException"/> naming the first bad one.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Epochs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchSize);
        ArgumentNullException.ThrowIfNull(Optimizer);
        if (!(Optimizer.LearningRate > 0) || float.IsInfinity(Optimizer.LearningRate))
            throw new ArgumentOutOfRangeException(nameof(Optimizer), Optimizer.LearningRate, "The learning rate must be positive and finite.");
        if (EarlyStoppingPatience is < 1) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "Patience must be at least 1.");
        ArgumentOutOfRangeException.ThrowIfNegative(EarlyStoppingMinDelta);
        ArgumentOutOfRangeException.ThrowIfNegative(CheckpointEverySteps);
        if (MaxSteps is < 0) throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, "MaxSteps must not be negative.");
    }
}

/// <summary>Reported after each optimizer step.</summary>
/// <param name="Step">Completed steps (1 after the first update).</param>
/// <param name="Epoch">Zero-based epoch the step belongs to.</param>
/// <param name="Loss">The mini-batch loss of that step.</param>
public readonly record struct TrainingProgress(long Step, int Epoch, double Loss);

/// <summary>Why training ended.</summary>
public enum StopReason
{
    /// <summary>All epochs ran.</summary>
    Completed,

    /// <summary>The eval loss stopped improving for the patience; the best weights were restored.</summary>
    EarlyStopped,

    /// <summary><see cref="TrainerOptions.MaxSteps"/> was reached; training can resume from the checkpoint.</summary>
    MaxSteps,
}

/// <summary>Outcome of <see cref="Trainer.Train"/>.</summary>
/// <param name="Reason">Why it ended.</param>
/// <param name="Steps">Optimizer steps done in all (including those before a resume).</param>
/// <param name="ResumedFromStep">The checkpoint step it resumed from, or null for a fresh start.</param>
/// <param name="History">Per-epoch loss and metric curves.</param>
/// <param name="Backend">The compute backend's name.</param>
public sealed record TrainingResult(StopReason Reason, long Steps, long? ResumedFromStep, TrainingHistory History, string Backend);

/// <summary>Loss and metric of a network on a data set.</summary>
/// <param name="Loss">Mean cross-entropy or mean squared error.</param>
/// <param name="Metric">Accuracy (classification) or RMSE (regression).</param>
public readonly record struct Evaluation(double Loss, double Metric);

/// <summary>
/// The loss became NaN or infinite. Training stopped before applying that step; the last good checkpoint (if
/// any) is left as it was, so a retry with other settings can start from it.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException(long step, int epoch, double loss, string? checkpointPath, long? checkpointStep)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"Training diverged: the loss was {loss} at step {step} (epoch {epoch + 1}). ") +
            (checkpointPath is null
                ? "No checkpoint was written before it."
                : string.Create(CultureInfo.InvariantCulture, $"The last good checkpoint is '{checkpointPath}' (step {checkpointStep}).")))
    {
        Step = step;
        Epoch = epoch;
        Loss = loss;
        CheckpointPath = checkpointPath;
        CheckpointStep = checkpointStep;
    }

    /// <summary>Creates the exception (serialization-style constructor for tooling).</summary>
    public TrainingDivergedException() : this(0, 0, double.NaN, null, null) { }

    /// <summary>Creates the exception with a message.</summary>
    public TrainingDivergedException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and cause.</summary>
    public TrainingDivergedException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The step (1-based) whose loss was not finite.</summary>
    public long Step { get; }

    /// <summary>Zero-based epoch of that step.</summary>
    public int Epoch { get; }

    /// <summary>The loss value (NaN or infinity).</summary>
    public double Loss { get; }

    /// <summary>The last checkpoint written before the failure, if any.</summary>
    public string? CheckpointPath { get; }

    /// <summary>The step of that checkpoint.</summary>
    public long? CheckpointStep { get; }
}

/// <summary>Helper so callers can pick a backend by name later (only the CPU one exists now).</summary>
internal static class Backends
{
    public static IComputeBackend OrDefault(IComputeBackend? backend) => backend ?? CpuBackend.Default;
}

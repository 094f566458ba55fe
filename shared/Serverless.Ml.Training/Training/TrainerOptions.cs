using Serverless.Ml.Training.Compute;

namespace Serverless.Ml.Training.Training;

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

using System.Globalization;
using Serverless.Ml.Training.Compute;

namespace Serverless.Ml.Training.Training;

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

using Serverless.Ml.Training.Compute;

namespace Serverless.Ml.Training.Training;

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

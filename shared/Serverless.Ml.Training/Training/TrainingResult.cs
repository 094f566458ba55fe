using Serverless.Ml.Training.Compute;

namespace Serverless.Ml.Training.Training;

/// <summary>Outcome of <see cref="Trainer.Train"/>.</summary>
/// <param name="Reason">Why it ended.</param>
/// <param name="Steps">Optimizer steps done in all (including those before a resume).</param>
/// <param name="ResumedFromStep">The checkpoint step it resumed from, or null for a fresh start.</param>
/// <param name="History">Per-epoch loss and metric curves.</param>
/// <param name="Backend">The compute backend's name.</param>
public sealed record TrainingResult(StopReason Reason, long Steps, long? ResumedFromStep, TrainingHistory History, string Backend);

using Serverless.Ml.Training.Compute;

namespace Serverless.Ml.Training.Training;

/// <summary>Reported after each optimizer step.</summary>
/// <param name="Step">Completed steps (1 after the first update).</param>
/// <param name="Epoch">Zero-based epoch the step belongs to.</param>
/// <param name="Loss">The mini-batch loss of that step.</param>
public readonly record struct TrainingProgress(long Step, int Epoch, double Loss);

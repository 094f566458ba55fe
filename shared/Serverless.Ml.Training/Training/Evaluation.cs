using Serverless.Ml.Training.Compute;

namespace Serverless.Ml.Training.Training;

/// <summary>Loss and metric of a network on a data set.</summary>
/// <param name="Loss">Mean cross-entropy or mean squared error.</param>
/// <param name="Metric">Accuracy (classification) or RMSE (regression).</param>
public readonly record struct Evaluation(double Loss, double Metric);

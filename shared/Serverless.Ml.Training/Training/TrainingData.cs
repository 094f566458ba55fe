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

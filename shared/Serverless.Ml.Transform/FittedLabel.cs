using Serverless.Ml.Data;

namespace Serverless.Ml.Transform;

/// <summary>The frozen label transform.</summary>
public sealed record FittedLabel
{
    /// <summary>The label's spec.</summary>
    public required LabelSpec Spec { get; init; }

    /// <summary>The raw column's kind.</summary>
    public required ColumnKind InputKind { get; init; }

    /// <summary>String classes in index order (classification of a String column).</summary>
    public string[]? Classes { get; init; }

    /// <summary>Int64 classes in index order (classification of an Int64 column).</summary>
    public long[]? IntClasses { get; init; }

    /// <summary>Number of classes (0 for regression).</summary>
    public int ClassCount => Classes?.Length ?? IntClasses?.Length ?? 0;
}

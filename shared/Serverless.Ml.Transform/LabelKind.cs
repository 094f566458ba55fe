namespace Serverless.Ml.Transform;

/// <summary>Whether the label is a class or a value.</summary>
public enum LabelKind
{
    /// <summary>Class index from a fitted vocabulary (same order as features: frequency desc, then reverse lexicographic); -1 when missing or unseen.</summary>
    Classification,

    /// <summary>The numeric value as a float; NaN when missing.</summary>
    Regression,
}

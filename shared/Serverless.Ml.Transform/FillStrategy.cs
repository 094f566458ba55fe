namespace Serverless.Ml.Transform;

/// <summary>How missing values are replaced before anything else (analyzers see the filled values, as in TFT).</summary>
public enum FillStrategy
{
    /// <summary>Leave missing values missing: NaN for numbers, "no category" (or the first OOV bucket) for categories.</summary>
    None,

    /// <summary>Mean of the present values of the train split (numeric only).</summary>
    Mean,

    /// <summary>Median (KLL lower median: exact up to 4,096 values, ~1.65% rank error beyond) (numeric only).</summary>
    Median,

    /// <summary>Most frequent value (numbers: ties to the smallest; strings: ties by the vocabulary order).</summary>
    Mode,

    /// <summary>A given constant: <see cref="FillSpec.Value"/> for numbers, <see cref="FillSpec.Text"/> for strings.</summary>
    Constant,
}

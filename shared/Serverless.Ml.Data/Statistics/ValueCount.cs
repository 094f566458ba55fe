namespace Serverless.Ml.Data.Statistics;

/// <summary>A value and its frequency.</summary>
public sealed class ValueCount
{
    /// <summary>The value.</summary>
    public string Value { get; set; } = string.Empty;

    /// <summary>How many times it occurred.</summary>
    public double Frequency { get; set; }
}

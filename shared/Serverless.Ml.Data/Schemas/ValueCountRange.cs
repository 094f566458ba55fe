namespace Serverless.Ml.Data.Schemas;

/// <summary>Values per example.</summary>
public sealed class ValueCountRange
{
    /// <summary>Fewest values.</summary>
    public long Min { get; set; }

    /// <summary>Most values.</summary>
    public long Max { get; set; }
}

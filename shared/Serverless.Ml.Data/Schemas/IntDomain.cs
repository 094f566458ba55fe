namespace Serverless.Ml.Data.Schemas;

/// <summary>Allowed integer range (bounds optional).</summary>
public sealed class IntDomain
{
    /// <summary>Smallest allowed value.</summary>
    public long? Min { get; set; }

    /// <summary>Largest allowed value.</summary>
    public long? Max { get; set; }
}

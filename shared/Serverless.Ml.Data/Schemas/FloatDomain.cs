namespace Serverless.Ml.Data.Schemas;

/// <summary>Allowed float range (bounds optional).</summary>
public sealed class FloatDomain
{
    /// <summary>Smallest allowed value.</summary>
    public double? Min { get; set; }

    /// <summary>Largest allowed value.</summary>
    public double? Max { get; set; }
}

namespace Serverless.Ml.Data.Schemas;

/// <summary>Presence constraint: required features have <c>min_fraction = 1</c>.</summary>
public sealed class FeaturePresence
{
    /// <summary>Least fraction of examples that must have the feature.</summary>
    public double MinFraction { get; set; }

    /// <summary>Least number of examples that must have the feature.</summary>
    public long MinCount { get; set; }
}

namespace Serverless.Ml.Data.Schemas;

/// <summary>Dataset-level constraints.</summary>
public sealed class DatasetConstraints
{
    /// <summary>Fewest examples the dataset must have.</summary>
    public long? MinExamplesCount { get; set; }
}

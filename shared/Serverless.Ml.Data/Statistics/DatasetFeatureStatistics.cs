namespace Serverless.Ml.Data.Statistics;

/// <summary>Statistics of one dataset (split).</summary>
public sealed class DatasetFeatureStatistics
{
    /// <summary>Split name, e.g. <c>train</c>.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Rows.</summary>
    public long NumExamples { get; set; }

    /// <summary>One entry per feature, in first-seen order.</summary>
    public List<FeatureNameStatistics> Features { get; set; } = [];

    /// <summary>A feature by name, or null.</summary>
    public FeatureNameStatistics? Find(string name) => Features.FirstOrDefault(f => f.Name == name);
}

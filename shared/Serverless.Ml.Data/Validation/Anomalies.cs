using System.Text.Json;
using Serverless.Ml.Data.Statistics;

namespace Serverless.Ml.Data.Validation;

/// <summary>The outcome of validation: an expected result, not an exception.</summary>
public sealed class Anomalies
{
    /// <summary>The split or dataset validated.</summary>
    public string DatasetName { get; set; } = string.Empty;

    /// <summary>Anomalies found, dataset-level first, then by feature.</summary>
    public List<Anomaly> Items { get; set; } = [];

    /// <summary>Whether anything was found.</summary>
    public bool HasAnomalies => Items.Count > 0;

    /// <summary>Anomalies of one feature.</summary>
    public IEnumerable<Anomaly> For(string feature) => Items.Where(a => a.Feature == feature);

    /// <summary>Serializes to JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, DatasetFeatureStatisticsList.JsonOptions);

    /// <summary>Parses JSON from <see cref="ToJson"/>.</summary>
    public static Anomalies FromJson(string json) =>
        JsonSerializer.Deserialize<Anomalies>(json, DatasetFeatureStatisticsList.JsonOptions) ?? throw new InvalidDataException("anomalies JSON is null");
}

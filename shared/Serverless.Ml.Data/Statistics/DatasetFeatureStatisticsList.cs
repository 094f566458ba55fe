using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Ml.Data.Statistics;

/// <summary>Statistics of several datasets (one per split), TFDV's <c>DatasetFeatureStatisticsList</c>.</summary>
public sealed class DatasetFeatureStatisticsList
{
    /// <summary>One entry per split.</summary>
    public List<DatasetFeatureStatistics> Datasets { get; set; } = [];

    /// <summary>The dataset of a split, or null.</summary>
    public DatasetFeatureStatistics? Find(string name) => Datasets.FirstOrDefault(d => d.Name == name);

    /// <summary>JSON options used for every statistics, schema and anomalies file (snake_case like TFDV's JSON).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Serializes to JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parses JSON written by <see cref="ToJson"/>.</summary>
    public static DatasetFeatureStatisticsList FromJson(string json) =>
        JsonSerializer.Deserialize<DatasetFeatureStatisticsList>(json, JsonOptions) ?? throw new InvalidDataException("statistics JSON is null");

    /// <summary>Writes JSON to a file.</summary>
    public void Save(string path) => File.WriteAllText(path, ToJson());

    /// <summary>Reads a JSON file.</summary>
    public static DatasetFeatureStatisticsList Load(string path) => FromJson(File.ReadAllText(path));
}

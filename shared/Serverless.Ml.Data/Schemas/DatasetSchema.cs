using System.Text.Json;
using Serverless.Ml.Data.Statistics;

namespace Serverless.Ml.Data.Schemas;

/// <summary>
/// The data contract of a dataset, shaped like TensorFlow Metadata's <c>Schema</c> proto in JSON (snake_case):
/// features with type, presence, value counts, domains and drift / skew thresholds. Inferred by
/// <see cref="SchemaInference"/>, then usually curated by a person and imported with <see cref="Load"/>.
/// </summary>
public sealed class DatasetSchema
{
    /// <summary>Features, in order.</summary>
    public List<FeatureSchema> Feature { get; set; } = [];

    /// <summary>Dataset-level constraints.</summary>
    public DatasetConstraints? DatasetConstraints { get; set; }

    /// <summary>A feature by name, or null.</summary>
    public FeatureSchema? Find(string name) => Feature.FirstOrDefault(f => f.Name == name);

    /// <summary>Serializes to JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, DatasetFeatureStatisticsList.JsonOptions);

    /// <summary>Writes JSON to a file.</summary>
    public void Save(string path) => File.WriteAllText(path, ToJson());

    /// <summary>Parses and checks a schema (e.g. a curated file).</summary>
    /// <exception cref="InvalidDataException">Malformed JSON, duplicate or empty names, or inconsistent bounds.</exception>
    public static DatasetSchema FromJson(string json)
    {
        DatasetSchema? s;
        try
        {
            s = JsonSerializer.Deserialize<DatasetSchema>(json, DatasetFeatureStatisticsList.JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"schema JSON is malformed: {e.Message}", e);
        }
        if (s is null) throw new InvalidDataException("schema JSON is null");
        s.Check();
        return s;
    }

    /// <summary>Imports a schema file (e.g. one a person curated).</summary>
    public static DatasetSchema Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return FromJson(File.ReadAllText(path));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    private void Check()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in Feature)
        {
            if (string.IsNullOrEmpty(f.Name)) throw new InvalidDataException("a feature has no name");
            if (!seen.Add(f.Name)) throw new InvalidDataException($"feature '{f.Name}' is listed twice");
            if (f.Presence is { MinFraction: < 0 or > 1 }) throw new InvalidDataException($"feature '{f.Name}': presence.min_fraction must be in [0, 1]");
            if (f.ValueCount is { } vc && vc.Min > vc.Max) throw new InvalidDataException($"feature '{f.Name}': value_count.min > max");
            if (f.IntDomain is { Min: { } a, Max: { } b } && a > b) throw new InvalidDataException($"feature '{f.Name}': int_domain.min > max");
            if (f.FloatDomain is { Min: { } c, Max: { } d } && c > d) throw new InvalidDataException($"feature '{f.Name}': float_domain.min > max");
        }
    }
}

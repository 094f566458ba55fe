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

/// <summary>One feature's contract.</summary>
public sealed class FeatureSchema
{
    /// <summary>Feature name.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Expected type.</summary>
    public FeatureType Type { get; set; }

    /// <summary>How often the feature must be present.</summary>
    public FeaturePresence? Presence { get; set; }

    /// <summary>Values per example.</summary>
    public ValueCountRange? ValueCount { get; set; }

    /// <summary>Tensor shape per example (fixed-shape float features, e.g. images); null for scalars.</summary>
    public int[]? Shape { get; set; }

    /// <summary>Allowed values of a categorical text feature.</summary>
    public StringDomain? StringDomain { get; set; }

    /// <summary>Allowed integer range (off unless inferred with numeric ranges or curated).</summary>
    public IntDomain? IntDomain { get; set; }

    /// <summary>Allowed float range (off unless inferred with numeric ranges or curated).</summary>
    public FloatDomain? FloatDomain { get; set; }

    /// <summary>NaN values are an anomaly. Inferred true for float features that had no NaN.</summary>
    public bool DisallowNan { get; set; }

    /// <summary>Drift threshold against the previous span's statistics.</summary>
    public FeatureComparator? DriftComparator { get; set; }

    /// <summary>Skew threshold against serving statistics.</summary>
    public FeatureComparator? SkewComparator { get; set; }
}

/// <summary>Presence constraint: required features have <c>min_fraction = 1</c>.</summary>
public sealed class FeaturePresence
{
    /// <summary>Least fraction of examples that must have the feature.</summary>
    public double MinFraction { get; set; }

    /// <summary>Least number of examples that must have the feature.</summary>
    public long MinCount { get; set; }
}

/// <summary>Values per example.</summary>
public sealed class ValueCountRange
{
    /// <summary>Fewest values.</summary>
    public long Min { get; set; }

    /// <summary>Most values.</summary>
    public long Max { get; set; }
}

/// <summary>Allowed values of a text feature.</summary>
public sealed class StringDomain
{
    /// <summary>The values.</summary>
    public List<string> Value { get; set; } = [];
}

/// <summary>Allowed integer range (bounds optional).</summary>
public sealed class IntDomain
{
    /// <summary>Smallest allowed value.</summary>
    public long? Min { get; set; }

    /// <summary>Largest allowed value.</summary>
    public long? Max { get; set; }
}

/// <summary>Allowed float range (bounds optional).</summary>
public sealed class FloatDomain
{
    /// <summary>Smallest allowed value.</summary>
    public double? Min { get; set; }

    /// <summary>Largest allowed value.</summary>
    public double? Max { get; set; }
}

/// <summary>Distribution comparison thresholds (TFDV: infinity_norm for categorical, jensen_shannon_divergence for numeric).</summary>
public sealed class FeatureComparator
{
    /// <summary>Largest allowed L-infinity distance between categorical value distributions (0..1).</summary>
    public double? InfinityNormThreshold { get; set; }

    /// <summary>Largest allowed Jensen-Shannon divergence (base 2, 0..1) between numeric histograms.</summary>
    public double? JensenShannonDivergenceThreshold { get; set; }
}

/// <summary>Dataset-level constraints.</summary>
public sealed class DatasetConstraints
{
    /// <summary>Fewest examples the dataset must have.</summary>
    public long? MinExamplesCount { get; set; }
}

/// <summary>Options of <see cref="SchemaInference"/>; defaults follow TFDV's <c>infer_schema</c>.</summary>
public sealed class SchemaInferenceOptions
{
    /// <summary>Text features with at most this many distinct values get a string domain. Default 100.</summary>
    public int MaxStringDomainSize { get; set; } = 100;

    /// <summary>Record observed min/max as int/float domains. Default false (TFDV's infer_feature_shape-like caution: ranges are too tight on one span).</summary>
    public bool InferNumericRanges { get; set; }
}

/// <summary>
/// Infers a schema from statistics (TFX's SchemaGen): type per feature; required (min_fraction 1) when never
/// missing, else optional (min_count 1); value counts; shapes for tensors; string domains for features with few
/// distinct values; numeric ranges only on request; NaN disallowed for floats that had none.
/// </summary>
public static class SchemaInference
{
    /// <summary>Infers a schema from one dataset's statistics (usually the train split).</summary>
    public static DatasetSchema Infer(DatasetFeatureStatistics statistics, SchemaInferenceOptions? options = null, TableSchema? tableSchema = null)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        options ??= new SchemaInferenceOptions();
        var schema = new DatasetSchema();
        foreach (var f in statistics.Features)
        {
            var c = f.Common;
            var fs = new FeatureSchema
            {
                Name = f.Name,
                Type = f.Type,
                Presence = c.NumMissing == 0 && c.NumNonMissing > 0 ? new FeaturePresence { MinFraction = 1, MinCount = 1 } : new FeaturePresence { MinFraction = 0, MinCount = 1 },
                ValueCount = new ValueCountRange { Min = c.MinNumValues, Max = c.MaxNumValues },
            };
            var spec = tableSchema?.Columns.FirstOrDefault(s => s.Name == f.Name);
            if (spec is { Kind: ColumnKind.Float32Tensor }) fs.Shape = [.. spec.Shape];
            if (f.StringStats is { } ss && ss.Values is { } values && !ss.UniqueIsEstimate && values.Count <= options.MaxStringDomainSize && values.Count > 0)
                fs.StringDomain = new StringDomain { Value = values.Select(v => v.Value).Order(StringComparer.Ordinal).ToList() };
            if (f.NumStats is { } ns)
            {
                fs.DisallowNan = f.Type == FeatureType.FLOAT && ns.NumNan == 0;
                if (options.InferNumericRanges && ns.CommonStats.NumNonMissing > 0)
                {
                    if (f.Type == FeatureType.INT) fs.IntDomain = new IntDomain { Min = (long)ns.Min, Max = (long)ns.Max };
                    else fs.FloatDomain = new FloatDomain { Min = ns.Min, Max = ns.Max };
                }
            }
            schema.Feature.Add(fs);
        }
        return schema;
    }
}

using System.Globalization;
using Serverless.Metadata;
using Serverless.Ml.Data;
using Serverless.Ml.Data.ExampleGen;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.ExampleGen;

/// <summary>
/// The parameters every ExampleGen shares (TFX's <c>input_base</c>, input/output config and range config, flattened to
/// scalars so a pipeline file stays readable), and their parsing into <see cref="ExampleGenOptions"/>.
/// </summary>
public static class ExampleGenParameters
{
    /// <summary>Folder the patterns are relative to (a path parameter: its content enters the cache key).</summary>
    public const string InputBase = "input_base";

    /// <summary>Pattern of the input that is hash-split; may hold <c>{SPAN}</c> and <c>{VERSION}</c>.</summary>
    public const string InputPattern = "input_pattern";

    /// <summary>Pre-split inputs: <c>train:train/*.csv,eval:eval/*.csv</c> (IDX: <c>name:images:labels</c>); overrides hash splitting.</summary>
    public const string SplitPatterns = "split_patterns";

    /// <summary>Hash-bucket split config: <c>train:2,eval:1</c>.</summary>
    public const string OutputSplits = "output_splits";

    /// <summary>Feature whose value decides the split; empty hashes the whole row.</summary>
    public const string PartitionFeature = "partition_feature";

    /// <summary>Span to read; -1 takes the latest.</summary>
    public const string Span = "span";

    /// <summary>Version to read; -1 takes the latest.</summary>
    public const string Version = "version";

    /// <summary>Rows per TFRecord/columnar shard.</summary>
    public const string RowsPerShard = "rows_per_shard";

    /// <summary>TFRecord shard compression: <c>gzip</c> or <c>none</c>.</summary>
    public const string Compression = "compression";

    /// <summary>The parameters of every ExampleGen.</summary>
    /// <param name="defaultPattern">The default of <see cref="InputPattern"/>.</param>
    public static IReadOnlyList<ParameterSpec> Common(string defaultPattern) =>
    [
        new ParameterSpec(InputBase, ParameterType.Path, Description: "Folder the input patterns are relative to.") { Use = ParameterUse.InputFolder },
        new ParameterSpec(InputPattern, ParameterType.String, Default: defaultPattern, Description: "Files to read and hash-split; {SPAN} and {VERSION} match digits (latest taken unless span/version are set).") { Use = ParameterUse.RelativePattern },
        new ParameterSpec(SplitPatterns, ParameterType.String, Default: "", Description: "Pre-split inputs 'name:pattern,...'; when set, no hashing happens.") { Use = ParameterUse.RelativePattern },
        new ParameterSpec(OutputSplits, ParameterType.String, Default: "train:2,eval:1", Description: "Hash-bucket split config 'name:buckets,...'.") { Use = ParameterUse.Value },
        new ParameterSpec(PartitionFeature, ParameterType.String, Default: "", Description: "Feature that decides the split (rows with equal values stay together); empty: the whole row.") { Use = ParameterUse.Value },
        new ParameterSpec(Span, ParameterType.Int, Default: -1L, Description: "Span to read; -1: the latest."),
        new ParameterSpec(Version, ParameterType.Int, Default: -1L, Description: "Version to read within the span; -1: the latest."),
        new ParameterSpec(RowsPerShard, ParameterType.Int, Default: 1_000_000L, Description: "Rows per output shard; StatisticsGen fans out over shards."),
        new ParameterSpec(Compression, ParameterType.String, Default: "gzip", Description: "TFRecord shard compression: gzip (TFX's default) or none.") { Use = ParameterUse.Value },
    ];

    /// <summary>Builds the options common to every format from resolved parameters.</summary>
    /// <exception cref="ArgumentException">A parameter is malformed (the message names it).</exception>
    public static ExampleGenOptions ToOptions(ComponentParameters parameters, InputFormat format, string outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var options = new ExampleGenOptions
        {
            InputBase = parameters.GetString(InputBase),
            OutputDirectory = outputDirectory,
            Format = format,
            Pattern = parameters.GetString(InputPattern),
            OutputSplits = ParseOutputSplits(parameters.GetString(OutputSplits)),
            PartitionFeature = NullIfEmpty(parameters.GetString(PartitionFeature)),
            Span = parameters.GetInt64(Span) is var span and >= 0 ? span : null,
            Version = parameters.GetInt64(Version) is var version and >= 0 ? version : null,
            RowsPerShard = parameters.GetInt64(RowsPerShard),
            Compression = parameters.GetString(Compression).ToUpperInvariant() switch
            {
                "GZIP" => Ml.Data.TfRecord.TfRecordCompression.Gzip,
                "NONE" or "" => Ml.Data.TfRecord.TfRecordCompression.None,
                var other => throw new ArgumentException($"parameter '{Compression}': '{other}' is not gzip or none"),
            },
        };
        if (options.RowsPerShard < 1)
        {
            throw new ArgumentException($"parameter '{RowsPerShard}' must be at least 1");
        }

        var pre = parameters.GetString(SplitPatterns);
        if (pre.Length > 0)
        {
            options.InputSplits = ParseSplitPatterns(pre, format == InputFormat.Idx);
        }

        return options;
    }

    /// <summary>Parses <c>train:2,eval:1</c>.</summary>
    /// <exception cref="ArgumentException">Not of that form.</exception>
    public static IReadOnlyList<SplitSpec> ParseOutputSplits(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var splits = new List<SplitSpec>();
        foreach (var item in ArtifactFiles.List(text))
        {
            var parts = item.Split(':', StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || !Names.IsValid(parts[0]) || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var buckets) || buckets < 1)
            {
                throw new ArgumentException($"parameter '{OutputSplits}': '{item}' is not 'name:buckets' with a positive bucket count");
            }

            splits.Add(new SplitSpec(parts[0], buckets));
        }

        return splits.Count > 0 ? splits : throw new ArgumentException($"parameter '{OutputSplits}' names no split");
    }

    /// <summary>Parses <c>train:train/*.csv,eval:eval/*.csv</c> (IDX: <c>name:images:labels</c>).</summary>
    /// <exception cref="ArgumentException">Not of that form.</exception>
    public static IReadOnlyList<InputSplit> ParseSplitPatterns(string text, bool withLabels)
    {
        ArgumentNullException.ThrowIfNull(text);
        var splits = new List<InputSplit>();
        foreach (var item in ArtifactFiles.List(text))
        {
            var parts = item.Split(':', StringSplitOptions.TrimEntries);
            if (parts.Length != (withLabels ? 3 : 2) || !Names.IsValid(parts[0]) || parts.Skip(1).Any(p => p.Length == 0))
            {
                throw new ArgumentException($"parameter '{SplitPatterns}': '{item}' is not '{(withLabels ? "name:images_pattern:labels_pattern" : "name:pattern")}'");
            }

            splits.Add(new InputSplit(parts[0], parts[1], withLabels ? parts[2] : null));
        }

        return splits;
    }

    /// <summary>Parses <c>col:int64,other:string</c> (kinds: int64, float64, string, bytes).</summary>
    /// <exception cref="ArgumentException">Not of that form.</exception>
    public static IReadOnlyDictionary<string, ColumnKind> ParseTypeOverrides(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new Dictionary<string, ColumnKind>(StringComparer.Ordinal);
        foreach (var item in ArtifactFiles.List(text))
        {
            var cut = item.LastIndexOf(':');
            var kind = cut <= 0 ? null : item[(cut + 1)..].Trim().ToUpperInvariant() switch
            {
                "INT64" or "INT" => ColumnKind.Int64,
                "FLOAT64" or "FLOAT" or "DOUBLE" => ColumnKind.Float64,
                "STRING" => ColumnKind.String,
                "BYTES" => (ColumnKind?)ColumnKind.Bytes,
                _ => null,
            };
            result[kind is null ? throw new ArgumentException($"parameter 'type_overrides': '{item}' is not 'column:int64|float64|string|bytes'") : item[..cut].Trim()] = kind.Value;
        }

        return result;
    }

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;
}

using Serverless.Ml.Data.ExampleGen;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.ExampleGen;

/// <summary>
/// TFX's <c>CsvExampleGen</c>: CSV files with a header (quoting, custom delimiter, missing values, type inference with
/// per-column overrides) into an <see cref="ArtifactTypes.Examples"/> artifact of per split TFRecord shards (TensorFlow
/// can read them) plus columnar shards for our own components. Bad rows fail the node unless <c>max_bad_rows</c>
/// tolerates them; skipped rows are counted in the artifact's <c>bad_row_count</c>.
/// </summary>
public sealed class CsvExampleGenComponent : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "CsvExampleGen";

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        DataPattern = ExampleGenParameters.InputPattern,
        Description = "Reads CSV files into split, sharded TFRecord (tf.Example) and columnar examples.",
        Parameters =
        [
            .. ExampleGenParameters.Common("*.csv"),
            new ParameterSpec("delimiter", ParameterType.String, Default: ",", Description: "Field delimiter, one character ('\\t' for tabs).") { Use = ParameterUse.Value },
            new ParameterSpec("max_bad_rows", ParameterType.Int, Default: 0L, Description: "Rows with a wrong field count or an unparsable number skipped before failing; 0 fails on the first, naming file, line and column."),
            new ParameterSpec("type_overrides", ParameterType.String, Default: "", Description: "Column kinds instead of inferred ones: 'col:int64,other:string' (int64, float64, string, bytes).") { Use = ParameterUse.Value },
            new ParameterSpec("max_record_bytes", ParameterType.Int, Default: 16L << 20, Description: "Longest CSV record in bytes (at most 1 GiB); a longer one fails naming its line and byte offset.") { Use = ParameterUse.Limit },
        ],
        Outputs =
        [
            new ChannelSpec("examples", ArtifactTypes.Examples, Description: "Split-{name}/data_tfrecord-*.gz and data_columnar-*.smlc; properties span, version, split_names, row_count, row_count_{split}, bad_row_count."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new ExampleGenExecutor(Options);

    private static ExampleGenOptions Options(ComponentParameters parameters, string output)
    {
        var options = ExampleGenParameters.ToOptions(parameters, InputFormat.Csv, output);
        var delimiter = parameters.GetString("delimiter") switch
        {
            "\\t" or "tab" => "\t",
            var d => d,
        };
        if (delimiter.Length != 1)
        {
            throw new ArgumentException($"parameter 'delimiter': '{delimiter}' is not one character");
        }

        var maxBad = parameters.GetInt64("max_bad_rows");
        if (maxBad < 0)
        {
            throw new ArgumentException("parameter 'max_bad_rows' must not be negative");
        }

        var maxRecord = parameters.GetInt64("max_record_bytes");
        if (maxRecord is < 1 or > 1 << 30)
        {
            throw new ArgumentException("parameter 'max_record_bytes' must be between 1 and 1073741824 (1 GiB)");
        }

        options.Csv = new Ml.Data.Csv.CsvReadOptions
        {
            Delimiter = delimiter[0],
            MaxBadRows = maxBad,
            TypeOverrides = ExampleGenParameters.ParseTypeOverrides(parameters.GetString("type_overrides")),
            MaxRecordBytes = (int)maxRecord,
        };
        return options;
    }
}

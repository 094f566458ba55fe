using Serverless.Ml.Data.ExampleGen;
using Serverless.Ml.Data.TfRecord;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.ExampleGen;

/// <summary>
/// TFX's <c>ImportExampleGen</c>: TFRecord files of tf.Example (plain or gzip, TensorFlow's framing with masked
/// CRC-32C) into split, sharded examples. A bad CRC or a truncated record fails the node with the file and byte offset.
/// </summary>
public sealed class ImportExampleGenComponent : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "ImportExampleGen";

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        DataPattern = ExampleGenParameters.InputPattern,
        Description = "Reads TFRecord files of tf.Example into split, sharded TFRecord and columnar examples.",
        Parameters =
        [
            .. ExampleGenParameters.Common("*"),
            new ParameterSpec("max_record_bytes", ParameterType.Int, Default: (long)TfRecordReader.DefaultMaxRecordBytes, Description: "Largest TFRecord record in bytes; a header declaring more fails naming the file and byte offset.") { Use = ParameterUse.Limit },
        ],
        Outputs =
        [
            new ChannelSpec("examples", ArtifactTypes.Examples, Description: "Split-{name}/data_tfrecord-*.gz and data_columnar-*.smlc; properties span, version, split_names, row_count, row_count_{split}."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new ExampleGenExecutor(Options);

    private static ExampleGenOptions Options(ComponentParameters parameters, string output)
    {
        var options = ExampleGenParameters.ToOptions(parameters, InputFormat.TfRecord, output);
        var max = parameters.GetInt64("max_record_bytes");
        if (max is < 1 or > int.MaxValue - 64)
        {
            throw new ArgumentException($"parameter 'max_record_bytes' must be between 1 and {int.MaxValue - 64}");
        }

        options.TfRecord = new TfExampleReadOptions { MaxRecordBytes = (int)max };
        return options;
    }
}

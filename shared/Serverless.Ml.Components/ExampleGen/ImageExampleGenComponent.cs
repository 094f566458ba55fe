using Serverless.Ml.Data.ExampleGen;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.ExampleGen;

/// <summary>
/// An ExampleGen for IDX image/label files (MNIST, Fashion-MNIST): each image becomes a fixed-shape float tensor
/// feature <c>image</c> (tf.Example float_list of rows x cols values) and its label an int64 feature <c>label</c>.
/// The images pattern is <c>input_pattern</c>, the labels pattern <c>labels_pattern</c>; pre-split inputs use
/// <c>split_patterns</c> entries <c>name:images_pattern:labels_pattern</c>.
/// </summary>
public sealed class ImageExampleGenComponent : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "ImageExampleGen";

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        DataPattern = ExampleGenParameters.InputPattern,
        Description = "Reads IDX image and label files into split, sharded TFRecord and columnar examples.",
        Parameters =
        [
            .. ExampleGenParameters.Common("*images*"),
            new ParameterSpec("labels_pattern", ParameterType.String, Default: "*labels*", Description: "IDX labels file(s) pairing with input_pattern, in the same order.") { Use = ParameterUse.RelativePattern },
            new ParameterSpec("scale", ParameterType.Double, Default: 1.0, Description: "Pixel values are divided by this (255 gives 0..1); 1 keeps raw 0..255."),
        ],
        Outputs =
        [
            new ChannelSpec("examples", ArtifactTypes.Examples, Description: "Split-{name}/data_tfrecord-*.gz and data_columnar-*.smlc; features image (float tensor) and label (int64)."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new ExampleGenExecutor(Options);

    private static ExampleGenOptions Options(ComponentParameters parameters, string output)
    {
        var options = ExampleGenParameters.ToOptions(parameters, InputFormat.Idx, output);
        options.LabelsPattern = parameters.GetString("labels_pattern");
        var scale = parameters.GetDouble("scale");
        if (!(scale > 0))
        {
            throw new ArgumentException("parameter 'scale' must be positive");
        }

        options.Idx = new Ml.Data.Idx.IdxDatasetOptions { Scale = (float)scale };
        return options;
    }
}

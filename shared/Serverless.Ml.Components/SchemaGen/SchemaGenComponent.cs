using Serverless.Pipelines;

namespace Serverless.Ml.Components.SchemaGen;

/// <summary>
/// TFX's <c>SchemaGen</c>: infers a schema (type, required/optional presence, value counts, tensor shapes, string
/// domains of categorical features, numeric ranges only when asked) from one split's statistics, written as
/// <c>schema.json</c> (TFMD's Schema shape in JSON). Curate it and feed it back through <see cref="ImportSchemaGenComponent"/>.
/// </summary>
public sealed class SchemaGenComponent : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "SchemaGen";

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        Description = "Infers a schema from statistics.",
        Inputs =
        [
            new ChannelSpec("statistics", ArtifactTypes.ExampleStatistics, Description: "StatisticsGen's output."),
        ],
        Parameters =
        [
            new ParameterSpec("split", ParameterType.String, Default: "train", Description: "The split whose statistics define the schema.") { Use = ParameterUse.Value },
            new ParameterSpec("infer_feature_shape", ParameterType.Bool, Default: true, Description: "Record fixed tensor shapes (images)."),
            new ParameterSpec("max_string_domain_size", ParameterType.Int, Default: 100L, Description: "Text features with at most this many distinct values get a string domain."),
            new ParameterSpec("infer_numeric_ranges", ParameterType.Bool, Default: false, Description: "Also record observed min/max as int/float domains (off, as in TFDV)."),
        ],
        Outputs =
        [
            new ChannelSpec("schema", ArtifactTypes.Schema, Description: "schema.json; properties feature_count, split."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new SchemaGenExecutor();
}

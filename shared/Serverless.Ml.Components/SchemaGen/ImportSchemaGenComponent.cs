using Serverless.Pipelines;

namespace Serverless.Ml.Components.SchemaGen;

/// <summary>
/// TFX's <c>ImportSchemaGen</c>: a curated schema file (JSON, the shape SchemaGen writes) instead of an inferred one.
/// The file is checked on import (duplicate features, bad bounds or types fail the node), and its content fingerprint
/// enters the cache key, so editing it re-runs the validator downstream.
/// </summary>
public sealed class ImportSchemaGenComponent : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "ImportSchemaGen";

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        Description = "Imports a curated schema file.",
        Parameters =
        [
            new ParameterSpec("schema_file", ParameterType.Path, Description: "The curated schema (JSON)."),
        ],
        Outputs =
        [
            new ChannelSpec("schema", ArtifactTypes.Schema, Description: "schema.json; properties feature_count, source_uri."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new ImportSchemaGenExecutor();
}

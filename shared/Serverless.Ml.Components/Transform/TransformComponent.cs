using Serverless.Pipelines;

namespace Serverless.Ml.Components.Transform;

/// <summary>
/// TFX's <c>Transform</c>: learns the preprocessing of a declarative spec (<see cref="Ml.Transform.TransformSpec"/>) in
/// one full pass over the train split, freezes it as <c>transform_fn.json</c> + <c>transform.onnx</c> (raw features
/// in, model inputs out) and writes every split transformed, for the Trainer. The spec comes from a file
/// (<c>module_file</c>, whose content enters the cache key) or inline (<c>spec</c>, YAML or JSON); exactly one.
/// </summary>
public sealed class TransformComponent : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "Transform";

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "2", // 2: strings outside the vocabulary hash into their OOV / hash bucket (MurmurHash3), seen at fit or not
        Description = "Fits a preprocessing spec on the train split; exports it as ONNX and transforms every split.",
        Inputs =
        [
            new ChannelSpec("examples", ArtifactTypes.Examples, Description: "ExampleGen's output (columnar shards per split)."),
            new ChannelSpec("schema", ArtifactTypes.Schema, Description: "SchemaGen's output; every spec input must be a schema feature."),
        ],
        Parameters =
        [
            new ParameterSpec("module_file", ParameterType.Path, Optional: true, Description: "The transform spec file (.yaml / .yml / .json)."),
            new ParameterSpec("spec", ParameterType.String, Default: "", Description: "The spec inline (YAML or JSON), instead of module_file."),
            new ParameterSpec("analyze_split", ParameterType.String, Default: "train", Description: "The split the analyzers read.") { Use = ParameterUse.Value },
            new ParameterSpec("parallelism", ParameterType.Int, Default: 0L, Description: "Shards analyzed at once (0 = processors)."),
            new ParameterSpec("max_features", ParameterType.Int, Default: 10_000L, Description: "Most features a spec may have (each costs analyzer memory while fitting); a larger spec fails before any data is read.") { Use = ParameterUse.Limit },
        ],
        Outputs =
        [
            new ChannelSpec("transform_graph", ArtifactTypes.TransformGraph, Description: "transform_fn.json + transform.onnx; properties width, label_classes, layout."),
            new ChannelSpec("transformed_examples", ArtifactTypes.Examples, Description: "Split-{s}/transformed-NNNNN-of-NNNNN.smlc (features, label); split_names, row counts."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new TransformExecutor();
}

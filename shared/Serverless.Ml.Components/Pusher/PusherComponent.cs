using Serverless.Pipelines;

namespace Serverless.Ml.Components.Pusher;

/// <summary>
/// TFX's <c>Pusher</c>: copies a model that is both blessed (Evaluator) and infra-blessed (InfraValidator) into the model
/// repository the model server watches, as the next integer version (model file first, <c>_READY</c> marker last, so a
/// server never loads a half-pushed version), then keeps only the newest <c>keep_versions</c>. A model missing either
/// blessing is not pushed: the PushedModel records <c>pushed</c> = 0 and why. For a human approval before the push,
/// give the node an <c>approval</c> gate in the pipeline file.
/// </summary>
public sealed class PusherComponent : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "Pusher";

    private readonly ShippingOptions options;

    /// <summary>Creates the component.</summary>
    public PusherComponent(ShippingOptions? options = null) => this.options = options ?? new ShippingOptions();

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        Description = "Pushes a blessed and infra-blessed model to the serving model repository as a new version.",
        Inputs =
        [
            new ChannelSpec("model", ArtifactTypes.Model, Description: "The model: model.onnx."),
            new ChannelSpec("model_blessing", ArtifactTypes.ModelBlessing, Description: "The Evaluator's blessing."),
            new ChannelSpec("infra_blessing", ArtifactTypes.InfraBlessing, Description: "The InfraValidator's blessing."),
        ],
        Parameters =
        [
            new ParameterSpec("push_destination", ParameterType.String, Default: "", Description: "Model repository folder; empty: the host's setting, else {home}/serving_models.") { Use = ParameterUse.ServingPath },
            new ParameterSpec("model_name", ParameterType.String, Default: "", Description: "Served model name; empty: the pipeline name.") { Use = ParameterUse.Value },
            new ParameterSpec("keep_versions", ParameterType.Int, Default: 5L, Description: "Newest complete versions kept after a push (older ones deleted)."),
        ],
        Outputs =
        [
            new ChannelSpec("pushed_model", ArtifactTypes.PushedModel, Description: "pushed.json; properties pushed (0/1), pushed_version, pushed_destination, model_name."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new PusherExecutor(options);
}

using Serverless.Pipelines;

namespace Serverless.Ml.Components.InfraValidator;

/// <summary>
/// TFX's <c>InfraValidator</c>: proves the candidate loads and answers in the serving runtime before it is pushed. It
/// starts the model server (<c>functions/Serverless.ModelServer</c>, the same loader and ONNX Runtime settings as
/// production) as a separate process on a free loopback port, over a temporary repository holding only the candidate,
/// waits for the version to become AVAILABLE within the loading-time limit and, in <c>load_and_query</c> mode, sends
/// canary predict requests built from examples, checking every request succeeds with the signature's output shapes.
/// </summary>
public sealed class InfraValidatorComponent : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "InfraValidator";

    private readonly ShippingOptions options;

    /// <summary>Creates the component.</summary>
    public InfraValidatorComponent(ShippingOptions? options = null) => this.options = options ?? new ShippingOptions();

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        Description = "Loads the model in the model server (separate process) and sends canary requests.",
        Inputs =
        [
            new ChannelSpec("model", ArtifactTypes.Model, Description: "The candidate: model.onnx."),
            new ChannelSpec("examples", ArtifactTypes.Examples, Optional: true, Description: "Raw examples for canary requests (load_and_query)."),
        ],
        Parameters =
        [
            new ParameterSpec("mode", ParameterType.String, Default: "auto", Description: "load_only, load_and_query, or auto (load_and_query when examples are bound).") { Use = ParameterUse.Value },
            new ParameterSpec("max_loading_time_seconds", ParameterType.Double, Default: 60.0, Description: "Longest wait for the version to become AVAILABLE, server start included."),
            new ParameterSpec("num_examples", ParameterType.Int, Default: 10L, Description: "Canary requests (one example each)."),
            new ParameterSpec("split", ParameterType.String, Default: "eval", Description: "Split the canary examples come from.") { Use = ParameterUse.Value },
            new ParameterSpec("request_timeout_seconds", ParameterType.Double, Default: 10.0, Description: "Timeout of one canary request."),
        ],
        Outputs =
        [
            new ChannelSpec("blessing", ArtifactTypes.InfraBlessing, Description: "infra_blessing.json + INFRA_BLESSED or INFRA_NOT_BLESSED; properties blessed (0/1), current_model, load_seconds, canary_requests."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new InfraValidatorExecutor(options);
}

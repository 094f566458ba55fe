using Serverless.Metadata;
using Serverless.Ml.Components.Evaluator;
using Serverless.Ml.Components.InfraValidator;
using Serverless.Ml.Components.Pusher;
using Serverless.Pipelines;

namespace Serverless.Ml.Components;

/// <summary>Settings of the shipping components that come from the host rather than the pipeline file.</summary>
public sealed class ShippingOptions
{
    /// <summary>
    /// The model server InfraValidator starts (<c>Serverless.ModelServer.dll</c>, run with <c>dotnet</c>, or an executable).
    /// Default null: <c>$SERVERLESS_MODEL_SERVER</c>, else <c>Serverless.ModelServer.dll</c> next to the running application.
    /// A host setting on purpose: no pipeline file or run request can name the program InfraValidator starts.
    /// </summary>
    public string? ModelServerPath { get; set; }

    /// <summary>
    /// The Pusher's default destination folder (a local-directory model repository) when the node sets no
    /// <c>push_destination</c>. Default null: <c>{home}/serving_models</c>, home = <c>$SERVERLESS_HOME</c> or <c>~/.serverless-ml</c>.
    /// </summary>
    public string? PushDestination { get; set; }
}

/// <summary>Registers the shipping components of issue 7: Evaluator, InfraValidator, Pusher.</summary>
public static class ShippingComponents
{
    /// <summary>The type names this class registers.</summary>
    public static IReadOnlyList<string> Types { get; } = [EvaluatorComponent.TypeName, InfraValidatorComponent.TypeName, PusherComponent.TypeName];

    /// <summary>Adds Evaluator, InfraValidator and Pusher to <paramref name="registry"/>.</summary>
    /// <param name="registry">The registry the pipeline loader and node runner use.</param>
    /// <param name="metadata">The metadata store the node runner records into: the Evaluator finds the latest blessed model
    /// (its baseline) there. Null: change thresholds only against an explicitly bound <c>baseline_model</c>.</param>
    /// <param name="options">Host settings (model server location, default push destination); null: defaults.</param>
    /// <returns>The same registry.</returns>
    public static ComponentRegistry Register(ComponentRegistry registry, IMetadataStore? metadata = null, ShippingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        options ??= new ShippingOptions();
        return registry
            .Register(new EvaluatorComponent(metadata))
            .Register(new InfraValidatorComponent(options))
            .Register(new PusherComponent(options));
    }
}

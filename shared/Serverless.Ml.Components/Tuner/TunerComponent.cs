using Serverless.Pipelines;

namespace Serverless.Ml.Components.Tuner;

/// <summary>
/// TFX's <c>Tuner</c>: random search or Hyperband over a declared search space (learning rate, hidden sizes, dropout,
/// batch size), scored on the eval split. Each trial is a <c>TunerTrial</c> activity (fanned out by the <c>TunerTrials</c>
/// orchestration) when the component is created with a <see cref="DurableTrialRunner"/> (the function app), else trials run in parallel inside
/// the Tuner's own activity. The best values go to a HyperParameters artifact that the Trainer consumes; the whole
/// trial table is kept in it.
/// </summary>
public sealed class TunerComponent : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "Tuner";

    private readonly ITrialRunner runner;

    /// <summary>Creates the component with in-process trials.</summary>
    public TunerComponent()
        : this(null)
    {
    }

    /// <summary>Creates the component with the given trial runner (null: in-process).</summary>
    public TunerComponent(ITrialRunner? runner) => this.runner = runner ?? new LocalTrialRunner();

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        Description = "Searches hyperparameters (random search or Hyperband) with parallel trials; writes the best.",
        Inputs =
        [
            new ChannelSpec("examples", ArtifactTypes.Examples, Description: "Transform's transformed_examples (train and eval splits)."),
            new ChannelSpec("transform_graph", ArtifactTypes.TransformGraph, Description: "Transform's transform_graph (label classes)."),
            new ChannelSpec("schema", ArtifactTypes.Schema, Optional: true, Description: "The schema (recorded for lineage)."),
        ],
        Parameters =
        [
            new ParameterSpec("algorithm", ParameterType.String, Default: "random", Description: "random or hyperband.") { Use = ParameterUse.Value },
            new ParameterSpec("max_trials", ParameterType.Int, Default: 8L, Description: "Random search: number of trials."),
            new ParameterSpec("max_epochs", ParameterType.Int, Default: 30L, Description: "Epochs of a random-search trial; Hyperband's maximum budget R."),
            new ParameterSpec("hyperband_eta", ParameterType.Int, Default: 3L, Description: "Hyperband's reduction factor."),
            new ParameterSpec("parallel_trials", ParameterType.Int, Default: 2L, Description: "Trials running at once."),
            new ParameterSpec("seed", ParameterType.Int, Default: 1L, Description: "Seed of the sampling and of every trial's training."),
            new ParameterSpec("learning_rate", ParameterType.String, Default: "1e-4:1e-1", Description: "Range min:max (log-uniform) or choices a|b; empty: not tuned.") { Use = ParameterUse.Value },
            new ParameterSpec("hidden_sizes", ParameterType.String, Default: "16|32|64,32", Description: "Choices, e.g. 16|32,16|64,32; empty: not tuned.") { Use = ParameterUse.Value },
            new ParameterSpec("dropout", ParameterType.String, Default: "0:0.3", Description: "Range min:max or choices; empty: not tuned.") { Use = ParameterUse.Value },
            new ParameterSpec("batch_size", ParameterType.String, Default: "16|32|64", Description: "Choices; empty: not tuned.") { Use = ParameterUse.Value },
            new ParameterSpec("model", ParameterType.String, Default: "mlp", Description: "mlp or cnn (as the Trainer's).") { Use = ParameterUse.Value },
            new ParameterSpec("activation", ParameterType.String, Default: "relu", Description: "As the Trainer's.") { Use = ParameterUse.Value },
            new ParameterSpec("optimizer", ParameterType.String, Default: "adam", Description: "As the Trainer's.") { Use = ParameterUse.Value },
        ],
        Outputs =
        [
            new ChannelSpec("best_hyperparameters", ArtifactTypes.HyperParameters, Description: "hyperparameters.json (best values) + trials.json / trials.csv (the trial table)."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new TunerExecutor(runner);
}

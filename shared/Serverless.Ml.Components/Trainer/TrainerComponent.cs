using Serverless.Pipelines;

namespace Serverless.Ml.Components.Trainer;

/// <summary>
/// TFX's <c>Trainer</c>: trains an MLP (tabular), a small CNN (images) or a user model (TFX's <c>module_file</c>: a C#
/// factory type in an assembly, engine torchsharp) on Transform's output and exports one ONNX model = transform graph +
/// network (raw features in, class probabilities or values out), plus a ModelRun with the loss/metric curves. The
/// <c>engine</c> parameter picks the trainer (<see cref="TrainerEngines"/>): <c>managed</c> everywhere, <c>torchsharp</c>
/// where registered (the trainer app). Tuned values of a bound HyperParameters artifact replace the matching parameters.
/// </summary>
/// <param name="engines">The engines its executors may use; null: <see cref="TrainerEngines.Default"/>.</param>
public sealed class TrainerComponent(TrainerEngines? engines = null) : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "Trainer";

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        Description = "Trains a neural network on transformed examples; exports transform + model as one ONNX file.",
        Inputs =
        [
            new ChannelSpec("examples", ArtifactTypes.Examples, Description: "Transform's transformed_examples."),
            new ChannelSpec("transform_graph", ArtifactTypes.TransformGraph, Description: "Transform's transform_graph (fused in front of the model)."),
            new ChannelSpec("schema", ArtifactTypes.Schema, Optional: true, Description: "The schema (recorded for lineage)."),
            new ChannelSpec("hyperparameters", ArtifactTypes.HyperParameters, Optional: true, Description: "Tuner's best_hyperparameters; override the parameters they name."),
        ],
        Parameters =
        [
            new ParameterSpec("model", ParameterType.String, Default: "mlp", Description: "mlp or cnn.") { Use = ParameterUse.Value },
            new ParameterSpec("hidden_sizes", ParameterType.String, Default: "64", Description: "Hidden layer widths, e.g. 64,32 (CNN: dense layers after the convolutions; may be empty).") { Use = ParameterUse.Value },
            new ParameterSpec("dropout", ParameterType.Double, Default: 0.0, Description: "Dropout rate in [0, 1)."),
            new ParameterSpec("activation", ParameterType.String, Default: "relu", Description: "relu, tanh or sigmoid.") { Use = ParameterUse.Value },
            new ParameterSpec("optimizer", ParameterType.String, Default: "adam", Description: "adam or sgd (with momentum).") { Use = ParameterUse.Value },
            new ParameterSpec("learning_rate", ParameterType.Double, Default: 1e-3, Description: "Learning rate."),
            new ParameterSpec("momentum", ParameterType.Double, Default: 0.9, Description: "SGD momentum."),
            new ParameterSpec("batch_size", ParameterType.Int, Default: 32L, Description: "Mini-batch size."),
            new ParameterSpec("epochs", ParameterType.Int, Default: 50L, Description: "Passes over the train split."),
            new ParameterSpec("early_stopping_patience", ParameterType.Int, Default: 0L, Description: "Epochs without eval-loss improvement before stopping (best weights restored); 0 = off."),
            new ParameterSpec("seed", ParameterType.Int, Default: 1L, Description: "Seed of weights, shuffling and dropout."),
            new ParameterSpec("checkpoint_every_steps", ParameterType.Int, Default: 50L, Description: "Checkpoint interval in optimizer steps (also at the end)."),
            new ParameterSpec("conv_channels", ParameterType.String, Default: "8,16", Description: "CNN: output channels per conv block.") { Use = ParameterUse.Value },
            new ParameterSpec("image_shape", ParameterType.String, Default: "1,28,28", Description: "CNN: channels,height,width of the transformed features.") { Use = ParameterUse.Value },
            new ParameterSpec("engine", ParameterType.String, Default: TrainerEngines.Managed, Description: "managed (built in) or torchsharp (libtorch; only the trainer app has it).") { Use = ParameterUse.Value },
            new ParameterSpec("device", ParameterType.String, Default: "auto", Description: "torchsharp: auto (CUDA when libtorch finds a GPU), cpu or cuda.") { Use = ParameterUse.Value },
            new ParameterSpec("module_file", ParameterType.Path, Optional: true, Description: "User model (engine torchsharp): the .NET assembly holding model_type (TFX's module_file); its content is in the cache key."),
            new ParameterSpec("model_type", ParameterType.String, Default: "", Description: "User model: the full name of its ITorchModelFactory type in module_file."),
            new ParameterSpec("input_shape", ParameterType.String, Default: "", Description: "User model: one example's shape as the module receives it, e.g. 1,28,28; empty: flat [features].") { Use = ParameterUse.Value },
            new ParameterSpec("custom_config", ParameterType.String, Default: "", Description: "User model: its own settings as a JSON object of scalars (TFX's custom_config), e.g. {\"hidden\": 128}."),
            new ParameterSpec("train_split", ParameterType.String, Default: "train", Description: "The split trained on.") { Use = ParameterUse.Value },
            new ParameterSpec("eval_split", ParameterType.String, Default: "eval", Description: "The split evaluated after every epoch (early stopping, eval metrics).") { Use = ParameterUse.Value },
            new ParameterSpec("checkpoint_dir", ParameterType.String, Default: "", Description: "Checkpoint root, inside the host's scratch root; empty: $SERVERLESS_CHECKPOINTS, else {scratch}/checkpoints.") { Use = ParameterUse.ScratchPath },
        ],
        Outputs =
        [
            new ChannelSpec("model", ArtifactTypes.Model, Description: "model.onnx (raw features in) + model_info.json; eval_accuracy/eval_loss, classes, worker_pid."),
            new ChannelSpec("model_run", ArtifactTypes.ModelRun, Description: "history.json + curves.svg + training.json (steps, resume, engine, backend, worker)."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new TrainerExecutor(engines);
}

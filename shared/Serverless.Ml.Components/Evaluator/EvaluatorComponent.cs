using Serverless.Metadata;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.Evaluator;

/// <summary>
/// TFX's <c>Evaluator</c>: runs the candidate model (ONNX, raw feature columns in) in ONNX Runtime over the eval split of
/// the raw examples, computes TFMA-style metrics overall and per slice, and blesses the model when every configured
/// threshold holds. Change thresholds compare with the latest blessed model of the same pipeline (resolved through the
/// metadata store, or the optional <c>baseline_model</c> input), evaluated on the same examples.
/// </summary>
public sealed class EvaluatorComponent : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "Evaluator";

    private readonly IMetadataStore? metadata;

    /// <summary>Creates the component.</summary>
    /// <param name="metadata">Where the latest blessed model of the pipeline is looked up; null: only the <c>baseline_model</c> input.</param>
    public EvaluatorComponent(IMetadataStore? metadata = null) => this.metadata = metadata;

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        Description = "Computes model metrics (overall and per slice) on the eval split and blesses the model against thresholds and a baseline.",
        Inputs =
        [
            new ChannelSpec("examples", ArtifactTypes.Examples, Description: "Raw examples (ExampleGen's), the eval split is read."),
            new ChannelSpec("model", ArtifactTypes.Model, Description: "The candidate: model.onnx taking raw feature columns."),
            new ChannelSpec("baseline_model", ArtifactTypes.Model, Optional: true, Description: "An explicit baseline; unbound: the latest blessed model of the pipeline from metadata."),
        ],
        Parameters =
        [
            new ParameterSpec("label_key", ParameterType.String, Description: "The label column, e.g. species.") { Use = ParameterUse.Value },
            new ParameterSpec("eval_split", ParameterType.String, Default: "eval", Description: "The split evaluated.") { Use = ParameterUse.Value },
            new ParameterSpec("task", ParameterType.String, Default: "auto", Description: "classification, regression or auto (classification for a text label, class labels in the model or several outputs per row).") { Use = ParameterUse.Value },
            new ParameterSpec("prediction_key", ParameterType.String, Default: "", Description: "The model output to evaluate; empty: probabilities/predictions, else the first float output.") { Use = ParameterUse.Value },
            new ParameterSpec("slicing_specs", ParameterType.String, Default: "", Description: "Slices, ';'-separated; a spec is one feature or ','-crossed features: island;sex;island,sex.") { Use = ParameterUse.Value },
            new ParameterSpec("min_slice_size", ParameterType.Int, Default: 10L, Description: "Slices with fewer examples are reported as too small, without metrics."),
            new ParameterSpec("metric_thresholds", ParameterType.String, Default: "", Description: "TFMA-shaped JSON: {\"accuracy\":{\"value_threshold\":{\"lower_bound\":0.9},\"change_threshold\":{\"direction\":\"HIGHER_IS_BETTER\",\"absolute\":-1e-10}}}. Empty: no blessing attempted."),
            new ParameterSpec("baseline_from_metadata", ParameterType.Bool, Default: true, Description: "Look up the latest blessed model of this pipeline when no baseline_model is bound."),
            new ParameterSpec("calibration_buckets", ParameterType.Int, Default: 10L, Description: "Buckets of the calibration table."),
        ],
        Outputs =
        [
            new ChannelSpec("evaluation", ArtifactTypes.ModelEvaluation, Description: "metrics.json + report.html; overall metrics as properties."),
            new ChannelSpec("blessing", ArtifactTypes.ModelBlessing, Description: "blessing.json + BLESSED or NOT_BLESSED; properties blessed (0/1), current_model, current_model_id, baseline_model."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new EvaluatorExecutor(metadata);
}

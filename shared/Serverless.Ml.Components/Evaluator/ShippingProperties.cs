namespace Serverless.Ml.Components.Evaluator;

/// <summary>
/// Property names of the shipping artifacts (ModelBlessing, InfraBlessing, PushedModel), TFX's names: the Pusher reads
/// them, and the next Evaluator finds its baseline by <see cref="Blessed"/> = 1.
/// </summary>
public static class ShippingProperties
{
    /// <summary>1 when the model is blessed (ModelBlessing) / infra-blessed (InfraBlessing), else 0.</summary>
    public const string Blessed = "blessed";

    /// <summary>URI of the evaluated model.</summary>
    public const string CurrentModel = "current_model";

    /// <summary>Metadata id of the evaluated model.</summary>
    public const string CurrentModelId = "current_model_id";

    /// <summary>URI of the baseline model the change thresholds compared with (absent without a baseline).</summary>
    public const string BaselineModel = "baseline_model";

    /// <summary>Metadata id of the baseline model.</summary>
    public const string BaselineModelId = "baseline_model_id";

    /// <summary>1 when a model was pushed (PushedModel).</summary>
    public const string Pushed = "pushed";

    /// <summary>The version number pushed.</summary>
    public const string PushedVersion = "pushed_version";

    /// <summary>Where the model was pushed (repository description + model name).</summary>
    public const string PushedDestination = "pushed_destination";

    /// <summary>The served model name.</summary>
    public const string ModelName = "model_name";
}

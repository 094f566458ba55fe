namespace Serverless.Pipelines;

/// <summary>
/// The standard artifact type names, as TFX names them, so pipelines, lineage queries and tools agree on
/// what a channel carries. A component may declare other type names; channels connect only when the
/// names are equal.
/// </summary>
public static class ArtifactTypes
{
    /// <summary>Training and evaluation data (ExampleGen, importers).</summary>
    public const string Examples = "Examples";

    /// <summary>Per-feature statistics of examples (StatisticsGen).</summary>
    public const string ExampleStatistics = "ExampleStatistics";

    /// <summary>The expected shape and domains of the data (SchemaGen).</summary>
    public const string Schema = "Schema";

    /// <summary>Differences between data and schema (ExampleValidator).</summary>
    public const string ExampleAnomalies = "ExampleAnomalies";

    /// <summary>The fitted preprocessing graph (Transform).</summary>
    public const string TransformGraph = "TransformGraph";

    /// <summary>Chosen hyperparameters (Tuner).</summary>
    public const string HyperParameters = "HyperParameters";

    /// <summary>A trained model (Trainer).</summary>
    public const string Model = "Model";

    /// <summary>Training run logs and curves (Trainer).</summary>
    public const string ModelRun = "ModelRun";

    /// <summary>Evaluation metrics of a model (Evaluator).</summary>
    public const string ModelEvaluation = "ModelEvaluation";

    /// <summary>Whether the model beat the baseline (Evaluator).</summary>
    public const string ModelBlessing = "ModelBlessing";

    /// <summary>Whether the model loads and serves (InfraValidator).</summary>
    public const string InfraBlessing = "InfraBlessing";

    /// <summary>A model copied to the serving location (Pusher).</summary>
    public const string PushedModel = "PushedModel";

    /// <summary>
    /// A file or folder outside the artifact store that a node read through a <see cref="ParameterType.Path"/>
    /// parameter or as user code; recorded as an input so lineage reaches the source data with its fingerprint.
    /// </summary>
    public const string ExternalFile = "ExternalFile";

    /// <summary>Every standard type, for registering them up front.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        Examples, ExampleStatistics, Schema, ExampleAnomalies, TransformGraph, HyperParameters, Model, ModelRun,
        ModelEvaluation, ModelBlessing, InfraBlessing, PushedModel, ExternalFile,
    ];
}

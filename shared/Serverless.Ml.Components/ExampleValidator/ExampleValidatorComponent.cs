using Serverless.Metadata;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.ExampleValidator;

/// <summary>
/// TFX's <c>ExampleValidator</c>, with drift and skew: checks each split's statistics against the schema and writes
/// the anomalies (<c>Split-{name}/SchemaDiff.json</c>) as an <see cref="ArtifactTypes.ExampleAnomalies"/> artifact.
/// Drift compares with the previous span's statistics: the <c>previous_statistics</c> input when bound, otherwise
/// (with a metadata store) the newest LIVE statistics of a lower span produced by the same StatisticsGen node.
/// Skew compares with the optional <c>serving_statistics</c> input. Thresholds come from the schema's per feature
/// <c>drift_comparator</c> / <c>skew_comparator</c>. Anomalies are a result, not an error, unless
/// <c>fail_on_anomalies</c> asks the node to fail (and so stop the pipeline).
/// </summary>
public sealed class ExampleValidatorComponent : Component
{
    private readonly IMetadataStore? metadata;

    /// <summary>Creates the component.</summary>
    /// <param name="metadata">Where the previous span's statistics are looked up for drift; null: only the <c>previous_statistics</c> input.</param>
    public ExampleValidatorComponent(IMetadataStore? metadata = null) => this.metadata = metadata;

    /// <summary>The component type name.</summary>
    public const string TypeName = "ExampleValidator";

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        Description = "Validates statistics against a schema, with drift vs the previous span and skew vs serving data.",
        Inputs =
        [
            new ChannelSpec("statistics", ArtifactTypes.ExampleStatistics, Description: "Statistics to check."),
            new ChannelSpec("schema", ArtifactTypes.Schema, Description: "The expected schema (SchemaGen or ImportSchemaGen)."),
            new ChannelSpec("previous_statistics", ArtifactTypes.ExampleStatistics, Optional: true, Description: "Baseline for drift; unbound: looked up in the metadata store by span."),
            new ChannelSpec("serving_statistics", ArtifactTypes.ExampleStatistics, Optional: true, Description: "Serving data's statistics for skew (same split name, else its first split)."),
        ],
        Parameters =
        [
            new ParameterSpec("exclude_splits", ParameterType.String, Default: "", Description: "Comma-separated splits not to validate.") { Use = ParameterUse.Value },
            new ParameterSpec("fail_on_anomalies", ParameterType.Bool, Default: false, Description: "Fail the node (stopping downstream nodes) when any anomaly is found."),
            new ParameterSpec("drift_from_metadata", ParameterType.Bool, Default: true, Description: "Find the previous span's statistics in the metadata store when previous_statistics is unbound."),
        ],
        Outputs =
        [
            new ChannelSpec("anomalies", ArtifactTypes.ExampleAnomalies, Description: "Split-{name}/SchemaDiff.json; properties anomaly_count, anomaly_count_{split}, anomaly_types, drift_baseline_uri."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new ExampleValidatorExecutor(metadata);
}

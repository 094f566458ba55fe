using Serverless.Pipelines;

namespace Serverless.Ml.Components.StatisticsGen;

/// <summary>
/// TFX's <c>StatisticsGen</c>: TFDV's per feature statistics of every split of an <see cref="ArtifactTypes.Examples"/>
/// artifact, as JSON (<c>Split-{name}/FeatureStats.json</c>, TFDV's shape) and one self-contained HTML report
/// (<c>report.html</c>). Shards are read in parallel inside the node and their partial statistics merged (see
/// <see cref="StatisticsGenExecutor"/> for why the fan-out is not one activity per shard).
/// </summary>
public sealed class StatisticsGenComponent : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "StatisticsGen";

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        Description = "Computes per split, per feature statistics (TFDV's) with an HTML report.",
        Inputs =
        [
            new ChannelSpec("examples", ArtifactTypes.Examples, Description: "Split examples (columnar shards preferred, TFRecord otherwise)."),
        ],
        Parameters =
        [
            new ParameterSpec("exclude_splits", ParameterType.String, Default: "", Description: "Comma-separated splits to skip.") { Use = ParameterUse.Value },
            new ParameterSpec("parallelism", ParameterType.Int, Default: 0L, Description: "Shards read at once; 0: one per processor."),
            new ParameterSpec("num_histogram_buckets", ParameterType.Int, Default: 10L, Description: "Buckets of the equal-width and quantiles histograms."),
            new ParameterSpec("num_top_values", ParameterType.Int, Default: 20L, Description: "Top values kept per text feature."),
        ],
        Outputs =
        [
            new ChannelSpec("statistics", ArtifactTypes.ExampleStatistics, Description: "Split-{name}/FeatureStats.json, report.html, table_schema.json; properties span, version, split_names, row_count_{split}."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new StatisticsGenExecutor();
}

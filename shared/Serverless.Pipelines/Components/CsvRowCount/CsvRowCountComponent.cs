namespace Serverless.Pipelines.Components.CsvRowCount;

/// <summary>
/// Counts the data rows of the CSV files in an <see cref="ArtifactTypes.Examples"/> artifact and writes an
/// <see cref="ArtifactTypes.ExampleStatistics"/> artifact with the counts: the pipeline layer's own stand-in
/// for StatisticsGen, for testing pipelines before the ML components exist.
/// </summary>
public sealed class CsvRowCountComponent : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "CsvRowCount";

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        Description = "Counts CSV data rows (quoted newlines are part of a row).",
        Inputs =
        [
            new ChannelSpec("examples", ArtifactTypes.Examples, Description: "CSV files (*.csv; all files when none is named so)."),
        ],
        Parameters =
        [
            new ParameterSpec("has_header", ParameterType.Bool, Default: true, Description: "Whether each file starts with a header row."),
        ],
        Outputs =
        [
            new ChannelSpec("statistics", ArtifactTypes.ExampleStatistics, Description: "row_count.json; properties row_count and file_count."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new CsvRowCountExecutor();
}

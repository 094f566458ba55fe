using Serverless.Metadata;
using Serverless.Ml.Components.ExampleGen;
using Serverless.Ml.Components.ExampleValidator;
using Serverless.Ml.Components.SchemaGen;
using Serverless.Ml.Components.StatisticsGen;
using Serverless.Pipelines;

namespace Serverless.Ml.Components;

/// <summary>Registers the data components of issue 5 so pipeline files can name them.</summary>
public static class MlComponents
{
    /// <summary>The type names this library registers.</summary>
    public static IReadOnlyList<string> Types { get; } =
    [
        CsvExampleGenComponent.TypeName, ImportExampleGenComponent.TypeName, ImageExampleGenComponent.TypeName,
        StatisticsGenComponent.TypeName, SchemaGenComponent.TypeName, ImportSchemaGenComponent.TypeName,
        ExampleValidatorComponent.TypeName,
    ];

    /// <summary>
    /// Adds CsvExampleGen, ImportExampleGen, ImageExampleGen, StatisticsGen, SchemaGen, ImportSchemaGen and
    /// ExampleValidator to <paramref name="registry"/>.
    /// </summary>
    /// <param name="registry">The registry the pipeline loader and node runner use.</param>
    /// <param name="metadata">The metadata store the node runner records into; lets ExampleValidator find the previous
    /// span's statistics for drift. Null: drift only through the <c>previous_statistics</c> input.</param>
    /// <returns>The same registry.</returns>
    public static ComponentRegistry Register(ComponentRegistry registry, IMetadataStore? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry
            .Register(new CsvExampleGenComponent())
            .Register(new ImportExampleGenComponent())
            .Register(new ImageExampleGenComponent())
            .Register(new StatisticsGenComponent())
            .Register(new SchemaGenComponent())
            .Register(new ImportSchemaGenComponent())
            .Register(new ExampleValidatorComponent(metadata));
    }
}

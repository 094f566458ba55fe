using Serverless.Metadata;
using Serverless.Ml.Components.ExampleGen;
using Serverless.Ml.Components.ExampleValidator;
using Serverless.Ml.Components.SchemaGen;
using Serverless.Ml.Components.StatisticsGen;
using Serverless.Ml.Components.Trainer;
using Serverless.Ml.Components.Transform;
using Serverless.Ml.Components.Tuner;
using Serverless.Pipelines;

namespace Serverless.Ml.Components;

/// <summary>Registers the ML components (data components of issue 5; Transform, Tuner, Trainer of issue 6) so pipeline files can name them.</summary>
public static class MlComponents
{
    /// <summary>The type names this library registers.</summary>
    public static IReadOnlyList<string> Types { get; } =
    [
        CsvExampleGenComponent.TypeName, ImportExampleGenComponent.TypeName, ImageExampleGenComponent.TypeName,
        StatisticsGenComponent.TypeName, SchemaGenComponent.TypeName, ImportSchemaGenComponent.TypeName,
        ExampleValidatorComponent.TypeName, TransformComponent.TypeName, TunerComponent.TypeName, TrainerComponent.TypeName,
    ];

    /// <summary>
    /// Adds CsvExampleGen, ImportExampleGen, ImageExampleGen, StatisticsGen, SchemaGen, ImportSchemaGen,
    /// ExampleValidator, Transform, Tuner and Trainer to <paramref name="registry"/>.
    /// </summary>
    /// <param name="registry">The registry the pipeline loader and node runner use.</param>
    /// <param name="metadata">The metadata store the node runner records into; lets ExampleValidator find the previous
    /// span's statistics for drift. Null: drift only through the <c>previous_statistics</c> input.</param>
    /// <param name="trialRunner">How Tuner trials run: a <see cref="DurableTrialRunner"/> makes each trial an activity in
    /// the <c>gpu</c> pool (the function app); null runs them in parallel inside the Tuner's activity.</param>
    /// <param name="trainerEngines">The Trainer's engines; null: <see cref="TrainerEngines.Default"/> (where the trainer app
    /// registers TorchSharp).</param>
    /// <returns>The same registry.</returns>
    public static ComponentRegistry Register(ComponentRegistry registry, IMetadataStore? metadata = null, ITrialRunner? trialRunner = null, TrainerEngines? trainerEngines = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry
            .Register(new CsvExampleGenComponent())
            .Register(new ImportExampleGenComponent())
            .Register(new ImageExampleGenComponent())
            .Register(new StatisticsGenComponent())
            .Register(new SchemaGenComponent())
            .Register(new ImportSchemaGenComponent())
            .Register(new ExampleValidatorComponent(metadata))
            .Register(new TransformComponent())
            .Register(new TunerComponent(trialRunner))
            .Register(new TrainerComponent(trainerEngines));
    }
}

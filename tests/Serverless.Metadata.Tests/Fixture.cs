using Serverless.Metadata;

namespace Serverless.Metadata.Tests;

internal static class Fixture
{
    private static readonly string[] ArtifactTypes =
    [
        "ExternalFile", "Examples", "ExampleStatistics", "Schema", "TransformGraph", "Model", "ModelEvaluation", "ModelBlessing", "PushedModel",
    ];

    private static readonly string[] ExecutionTypes =
    [
        "ExampleGen", "StatisticsGen", "SchemaGen", "Transform", "Trainer", "Evaluator", "Pusher",
    ];

    public static async Task RegisterTypesAsync(IMetadataStore store)
    {
        foreach (var type in ArtifactTypes)
        {
            await store.PutArtifactTypeAsync(type);
        }

        foreach (var type in ExecutionTypes)
        {
            await store.PutExecutionTypeAsync(type);
        }

        await store.PutContextTypeAsync(ContextTypes.Pipeline);
        await store.PutContextTypeAsync(ContextTypes.PipelineRun);
        await store.PutContextTypeAsync(ContextTypes.Node);
    }

    public sealed record Chain(Artifact Source, Artifact PushedModel, Artifact Unrelated);

    /// <summary>Records the TFX chain ExampleGen -> ... -> Pusher, the way an orchestrator would.</summary>
    public static async Task<Chain> BuildTfxChainAsync(IMetadataStore store)
    {
        await RegisterTypesAsync(store);
        var source = await store.PutArtifactAsync(new Artifact
        {
            Type = "ExternalFile",
            Uri = "/data/taxi.csv",
            State = ArtifactState.Live,
            CustomProperties = new Dictionary<string, MetadataValue> { ["fingerprint"] = "sha256:source" },
        });

        async Task<Artifact> Step(string execution, (Artifact Artifact, string Channel)[] inputs, string outputType, string outputChannel)
        {
            var result = await store.PutExecutionAsync(
                new Execution { Type = execution, State = ExecutionState.Complete },
                [
                    .. inputs.Select(i => new ArtifactAndEvent(i.Artifact, EventType.Input, i.Channel)),
                    new ArtifactAndEvent(new Artifact { Type = outputType, Uri = $"p/{execution}/{outputChannel}", State = ArtifactState.Live }, EventType.Output, outputChannel),
                ],
                [new Context { Type = ContextTypes.PipelineRun, Name = "run-1" }]);
            return result.Artifacts[^1];
        }

        var examples = await Step("ExampleGen", [(source, "input_base")], "Examples", "examples");
        var statistics = await Step("StatisticsGen", [(examples, "examples")], "ExampleStatistics", "statistics");
        var schema = await Step("SchemaGen", [(statistics, "statistics")], "Schema", "schema");
        var graph = await Step("Transform", [(examples, "examples"), (schema, "schema")], "TransformGraph", "transform_graph");
        var model = await Step("Trainer", [(examples, "examples"), (schema, "schema"), (graph, "transform_graph")], "Model", "model");
        var evaluation = await Step("Evaluator", [(examples, "examples"), (model, "model")], "ModelEvaluation", "evaluation");
        var blessing = await store.GetArtifactsByIdAsync([evaluation.Id]); // the evaluator also blesses
        var blessed = await store.PutExecutionAsync(
            new Execution { Type = "Evaluator", State = ExecutionState.Complete },
            [
                new ArtifactAndEvent(blessing[0], EventType.Input, "evaluation"),
                new ArtifactAndEvent(new Artifact { Type = "ModelBlessing", Uri = "p/Evaluator/blessing", State = ArtifactState.Live }, EventType.Output, "blessing"),
            ],
            []);
        var pushed = await Step("Pusher", [(model, "model"), (blessed.Artifacts[1], "model_blessing")], "PushedModel", "pushed_model");
        var unrelated = await Step("ExampleGen", [], "Examples", "examples");
        return new Chain(source, pushed, unrelated);
    }
}

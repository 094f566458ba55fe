using Serverless.Metadata;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.Tests.Learning;

/// <summary>Node definitions for Transform, Tuner and Trainer over penguins.</summary>
internal static class LearningNodes
{
    public static string PenguinsSpec => Path.Combine(TestData.RepositoryRoot(), "samples", "penguins_transform.yaml");

    /// <summary>ExampleGen -> StatisticsGen -> SchemaGen over the shared penguins CSV.</summary>
    public static NodeDefinition[] Data() =>
    [
        Nodes.CsvGen("gen", TestData.DatasetsFolder, "penguins.csv"),
        Nodes.Stats("stats", "gen"),
        Nodes.Schema("schema", "stats"),
    ];

    public static NodeDefinition Transform(string id = "transform", Dictionary<string, MetadataValue>? parameters = null) =>
        Nodes.Node(id, "Transform", parameters ?? new() { ["module_file"] = PenguinsSpec }, ("examples", "gen.examples"), ("schema", "schema.schema"));

    public static NodeDefinition Trainer(string id, Dictionary<string, MetadataValue> parameters, string? tuner = null)
    {
        var inputs = new List<(string, string)> { ("examples", "transform.transformed_examples"), ("transform_graph", "transform.transform_graph"), ("schema", "schema.schema") };
        if (tuner is not null)
        {
            inputs.Add(("hyperparameters", $"{tuner}.best_hyperparameters"));
        }

        return Nodes.Node(id, "Trainer", parameters, [.. inputs]);
    }

    public static NodeDefinition Tuner(string id, Dictionary<string, MetadataValue> parameters) =>
        Nodes.Node(id, "Tuner", parameters, ("examples", "transform.transformed_examples"), ("transform_graph", "transform.transform_graph"));

    /// <summary>The Trainer settings of the sample pipeline (without tuning): reach >= 0.97 on penguins' eval split.</summary>
    public static Dictionary<string, MetadataValue> PenguinsTrainer(string checkpoints) => new()
    {
        ["hidden_sizes"] = "32,16",
        ["learning_rate"] = 0.01,
        ["epochs"] = 60L,
        ["batch_size"] = 16L,
        ["early_stopping_patience"] = 10L,
        ["checkpoint_every_steps"] = 50L,
        ["checkpoint_dir"] = checkpoints,
        ["seed"] = 1L,
    };
}

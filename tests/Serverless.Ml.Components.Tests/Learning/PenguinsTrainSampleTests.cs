using Serverless.Pipelines;

namespace Serverless.Ml.Components.Tests.Learning;

/// <summary>samples/penguins_train.yaml as the CLI loads it, run node by node in process (trials in the Tuner's activity).</summary>
public sealed class PenguinsTrainSampleTests : IDisposable
{
    private readonly NodeHarness harness = new();

    public void Dispose() => harness.Dispose();

    [Fact]
    public async Task Run_PenguinsTrainSample_TunedTrainerReachesEvalAccuracy097()
    {
        var loaded = PipelineLoader.LoadAndValidate(Path.Combine(TestData.RepositoryRoot(), "samples", "penguins_train.yaml"), harness.Registry);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        var graph = loaded.Graph!;

        // Resolved parameters (paths made absolute against the sample's folder), checkpoints under the test folder.
        var nodes = graph.Nodes.Select(n => n.Definition with
        {
            Parameters = n.Id == "trainer"
                ? new Dictionary<string, Metadata.MetadataValue>(n.Parameters) { ["checkpoint_dir"] = harness.Temp.Combine("checkpoints") }
                : n.Parameters,
        }).ToArray();
        var results = await harness.RunAsync(graph.Name, nodes);
        Assert.All(results.Values, r => Assert.True(r.Succeeded, r.Error));
        Assert.Equal(nodes.Length, results.Count);
        Assert.Equal(27 + 9 + 3 + 1 + 12 + 4 + 1 + 6 + 2 + 4, results["tuner"].Outputs["best_hyperparameters"].Properties["trial_count"].IntValue);
        var accuracy = results["trainer"].Outputs["model"].Properties["eval_accuracy"].DoubleValue;
        Assert.True(accuracy >= 0.97, $"penguins_eval_accuracy with tuned values {accuracy:F4} < 0.97");
    }
}

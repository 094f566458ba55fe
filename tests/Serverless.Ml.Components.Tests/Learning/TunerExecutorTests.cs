using System.Text.Json;
using Serverless.Metadata;
using Serverless.Ml.Components.Trainer;
using Serverless.Ml.Components.Tuner;

namespace Serverless.Ml.Components.Tests.Learning;

public sealed class TunerExecutorTests : IDisposable
{
    private readonly NodeHarness harness = new();

    public void Dispose() => harness.Dispose();

    [Fact]
    public async Task Execute_RandomSearch_PicksTheBestTrialAndTheTrainerUsesIt()
    {
        var tuner = LearningNodes.Tuner("tuner", new Dictionary<string, MetadataValue>
        {
            ["algorithm"] = "random", ["max_trials"] = 4L, ["max_epochs"] = 8L, ["parallel_trials"] = 2L,
            ["learning_rate"] = "1e-4:3e-2", ["hidden_sizes"] = "8|32,16", ["dropout"] = "0:0.2", ["batch_size"] = "16|32",
        });
        var trainerParameters = LearningNodes.PenguinsTrainer(harness.Temp.Combine("checkpoints"));
        trainerParameters["epochs"] = 5L;
        var results = await harness.RunAsync("p", [.. LearningNodes.Data(), LearningNodes.Transform(), tuner, LearningNodes.Trainer("trainer", trainerParameters, tuner: "tuner")]);
        Assert.True(results["tuner"].Succeeded, results["tuner"].Error);
        var artifact = results["tuner"].Outputs["best_hyperparameters"];
        var trials = JsonDocument.Parse(harness.ReadText(artifact, TunerExecutor.TrialsPath)).RootElement.EnumerateArray().ToList();
        Assert.Equal(4, trials.Count);
        Assert.Equal(4, trials.Select(t => t.GetProperty("values").GetRawText()).Distinct().Count());
        var best = trials.OrderByDescending(t => t.GetProperty("eval_metric").GetDouble()).ThenBy(t => t.GetProperty("eval_loss").GetDouble()).First();
        using var chosen = JsonDocument.Parse(harness.ReadText(artifact, TrainerExecutor.HyperParametersPath));
        Assert.Equal(best.GetProperty("trial").GetString(), chosen.RootElement.GetProperty("best_trial").GetString());
        Assert.Equal(best.GetProperty("trial").GetString(), artifact.Properties["best_trial"].StringValue);
        Assert.Equal(5, harness.ReadText(artifact, TunerExecutor.TrialsCsvPath).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        // The Trainer trains with the winner's values in place of its own parameters.
        Assert.True(results["trainer"].Succeeded, results["trainer"].Error);
        using var info = JsonDocument.Parse(harness.ReadText(results["trainer"].Outputs["model"], TrainerExecutor.ModelInfoPath));
        var settings = info.RootElement.GetProperty("settings");
        var values = best.GetProperty("values");
        Assert.Equal(values.GetProperty("learning_rate").GetDouble(), settings.GetProperty("LearningRate").GetDouble());
        Assert.Equal(values.GetProperty("hidden_sizes").Deserialize<int[]>(), settings.GetProperty("HiddenSizes").Deserialize<int[]>());
        Assert.Equal(values.GetProperty("batch_size").GetInt32(), settings.GetProperty("BatchSize").GetInt32());
        Assert.Equal(5, settings.GetProperty("Epochs").GetInt32());
    }

    [Fact]
    public async Task Execute_Hyperband_RunsEveryRungAndPromotesOnlyTheBest()
    {
        var tuner = LearningNodes.Tuner("tuner", new Dictionary<string, MetadataValue> { ["algorithm"] = "hyperband", ["max_epochs"] = 9L, ["hyperband_eta"] = 3L, ["parallel_trials"] = 2L });
        var results = await harness.RunAsync("p", [.. LearningNodes.Data(), LearningNodes.Transform(), tuner]);
        Assert.True(results["tuner"].Succeeded, results["tuner"].Error);
        var trials = JsonDocument.Parse(harness.ReadText(results["tuner"].Outputs["best_hyperparameters"], TunerExecutor.TrialsPath)).RootElement.EnumerateArray().ToList();
        var shape = trials.GroupBy(t => (t.GetProperty("bracket").GetInt32(), t.GetProperty("rung").GetInt32()))
            .Select(g => (g.Key.Item1, g.Key.Item2, g.Count(), g.First().GetProperty("epochs").GetInt32())).ToList();
        Assert.Equal([(0, 0, 9, 1), (0, 1, 3, 3), (0, 2, 1, 9), (1, 0, 5, 3), (1, 1, 1, 9), (2, 0, 3, 9)], shape);

        // Bracket 0: the 3 promoted to 3 epochs are the 3 best of the 9 at 1 epoch.
        var rung0 = trials.Where(t => t.GetProperty("bracket").GetInt32() == 0 && t.GetProperty("rung").GetInt32() == 0)
            .OrderByDescending(t => t.GetProperty("eval_metric").GetDouble()).ThenBy(t => t.GetProperty("eval_loss").GetDouble()).ToList();
        var promoted = trials.Where(t => t.GetProperty("bracket").GetInt32() == 0 && t.GetProperty("rung").GetInt32() == 1).Select(t => t.GetProperty("values").GetRawText()).Order().ToList();
        Assert.Equal(rung0.Take(3).Select(t => t.GetProperty("values").GetRawText()).Order(), promoted);
    }

    [Fact]
    public void Brackets_R27Eta3_FollowLiEtAl()
    {
        var brackets = Hyperband.Brackets(27, 3);
        Assert.Equal([27, 12, 6, 4], brackets.Select(b => b.Configurations));
        Assert.Equal([(27, 1), (9, 3), (3, 9), (1, 27)], brackets[0].Rungs);
        Assert.Equal([(4, 27)], brackets[3].Rungs);
    }

    [Fact]
    public void Parse_BadRange_NamesTheParameter()
    {
        var e = Assert.Throws<ArgumentException>(() => SearchSpace.Parse("0.1:0.01", "16", "", ""));
        Assert.Contains("learning_rate", e.Message, StringComparison.Ordinal);
    }
}

using System.Text.Json;
using Serverless.Metadata;
using Serverless.Ml.Components.Evaluator;
using Serverless.Pipelines;

namespace Serverless.Ml.Shipping.Tests;

public sealed class EvaluatorTests
{
    private static readonly double[] X = [-2, -1, -0.5, 0.5, 1, 2, 3, -3, 0.2, -0.2, 1.5, -1.5];
    private static readonly string[] Y = ["neg", "neg", "pos", "pos", "pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg"];
    private static readonly string[] G = ["a", "a", "a", "a", "a", "a", "b", "b", "b", "b", "b", "c"];

    private static Dictionary<string, MetadataValue> Parameters(string thresholds = "") => new()
    {
        ["label_key"] = MetadataValue.FromString("y"),
        ["slicing_specs"] = MetadataValue.FromString("g;g,y"),
        ["min_slice_size"] = MetadataValue.FromInt(3),
        ["metric_thresholds"] = MetadataValue.FromString(thresholds),
    };

    [Fact]
    public async Task ExecuteAsync_SignModel_MetricsAndSlicesMatchIndependentComputation()
    {
        using var bench = new ArtifactBench();
        var inputs = new Dictionary<string, InputArtifact>
        {
            ["examples"] = await bench.ExamplesAsync(TestModels.Batch(X, Y, G)),
            ["model"] = await bench.ModelAsync(TestModels.Sign()),
        };

        var outputs = await bench.RunAsync(new EvaluatorExecutor(), EvaluatorComponent.Declaration, inputs, Parameters());

        using var json = JsonDocument.Parse(await bench.ReadTextAsync(outputs["evaluation"], "metrics.json"));
        var overall = json.RootElement.GetProperty("overall").GetProperty("metrics");
        // independent: predicted pos iff x > 0; wrong rows are x=-0.5 (pos) and x=2 (neg)
        Assert.Equal(10.0 / 12, overall.GetProperty("accuracy").GetDouble(), 12);
        var logLoss = X.Select((x, i) => -Math.Log(Y[i] == "pos" ? TestModels.PositiveProbability(x) : 1 - TestModels.PositiveProbability(x))).Average();
        Assert.Equal(logLoss, overall.GetProperty("log_loss").GetDouble(), 5);
        Assert.Equal(12, overall.GetProperty("example_count").GetDouble());

        var slices = json.RootElement.GetProperty("slices").EnumerateArray().ToDictionary(s => s.GetProperty("slice").GetString()!);
        Assert.Equal(4.0 / 6, slices["g=a"].GetProperty("metrics").GetProperty("accuracy").GetDouble(), 12);
        Assert.Equal(1.0, slices["g=b"].GetProperty("metrics").GetProperty("accuracy").GetDouble(), 12);
        Assert.True(slices["g=c"].GetProperty("below_minimum_size").GetBoolean());
        Assert.Equal(1, slices["g=c"].GetProperty("example_count").GetInt64());
        Assert.True(slices.ContainsKey("g=a,y=pos")); // crossed slice
        Assert.Equal(3, slices["g=a,y=pos"].GetProperty("example_count").GetInt64());

        var html = await bench.ReadTextAsync(outputs["evaluation"], "report.html");
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("Confusion matrix", html, StringComparison.Ordinal);
        Assert.Contains("below the minimum slice size", html, StringComparison.Ordinal);
        Assert.Equal(10.0 / 12, outputs["evaluation"].Properties["accuracy"].DoubleValue, 12);
    }

    [Fact]
    public async Task ExecuteAsync_NoThresholds_NotBlessedAndStatesNoAttempt()
    {
        using var bench = new ArtifactBench();
        var inputs = new Dictionary<string, InputArtifact>
        {
            ["examples"] = await bench.ExamplesAsync(TestModels.Batch(X, Y, G)),
            ["model"] = await bench.ModelAsync(TestModels.Sign()),
        };

        var outputs = await bench.RunAsync(new EvaluatorExecutor(), EvaluatorComponent.Declaration, inputs, Parameters());

        Assert.Equal(0, outputs["blessing"].Properties[ShippingProperties.Blessed].IntValue);
        Assert.Equal(0, outputs["blessing"].Properties["blessing_attempted"].IntValue);
        Assert.Contains("no blessing attempted", await bench.ReadTextAsync(outputs["blessing"], "NOT_BLESSED"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_WorseThanBoundBaseline_NotBlessedListingTheCheck()
    {
        using var bench = new ArtifactBench();
        var inputs = new Dictionary<string, InputArtifact>
        {
            ["examples"] = await bench.ExamplesAsync(TestModels.Batch(X, Y, G)),
            ["model"] = await bench.ModelAsync(TestModels.Sign(input: "x"), "p/trainer/model/e2"),
            ["baseline_model"] = await bench.ModelAsync(TestModels.Sign(), "p/trainer/model/e1", "baseline_model"),
        };
        // identical models: a 'must improve by 0.01' change threshold fails, the value threshold passes
        const string thresholds = """{"accuracy":{"value_threshold":{"lower_bound":0.8},"change_threshold":{"direction":"HIGHER_IS_BETTER","absolute":0.01}}}""";

        var outputs = await bench.RunAsync(new EvaluatorExecutor(), EvaluatorComponent.Declaration, inputs, Parameters(thresholds));

        var blessing = outputs["blessing"];
        Assert.Equal(0, blessing.Properties[ShippingProperties.Blessed].IntValue);
        Assert.Equal("p/trainer/model/e1", blessing.Properties[ShippingProperties.BaselineModel].StringValue);
        Assert.True(await bench.ExistsAsync(blessing, "NOT_BLESSED"));
        Assert.Contains("absolute 0.01", blessing.Properties["failed_checks"].StringValue, StringComparison.Ordinal);
        Assert.DoesNotContain("lower_bound", blessing.Properties["failed_checks"].StringValue, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_ValueThresholdMetNoBaseline_Blessed()
    {
        using var bench = new ArtifactBench();
        var inputs = new Dictionary<string, InputArtifact>
        {
            ["examples"] = await bench.ExamplesAsync(TestModels.Batch(X, Y, G)),
            ["model"] = await bench.ModelAsync(TestModels.Sign()),
        };
        const string thresholds = """{"accuracy":{"value_threshold":{"lower_bound":0.8},"change_threshold":{"direction":"HIGHER_IS_BETTER","absolute":-1e-10}}}""";

        var outputs = await bench.RunAsync(new EvaluatorExecutor(), EvaluatorComponent.Declaration, inputs, Parameters(thresholds));

        Assert.Equal(1, outputs["blessing"].Properties[ShippingProperties.Blessed].IntValue);
        Assert.True(await bench.ExistsAsync(outputs["blessing"], "BLESSED"));
        Assert.Contains("change thresholds skipped", await bench.ReadTextAsync(outputs["blessing"], "blessing.json"), StringComparison.Ordinal);
    }
}

using System.Text;
using System.Text.Json.Nodes;
using Serverless.Metadata;
using Serverless.Ml.Components;
using Serverless.Ml.Components.Evaluator;
using Serverless.Ml.Components.InfraValidator;
using Serverless.Pipelines;
using Serverless.Pipelines.Orchestration;
using Serverless.Storage;

namespace Serverless.Ml.Shipping.Tests;

/// <summary>
/// Issue 7's "done when": samples/penguins_full.yaml through the real node runner (SQLite metadata, local blobs, the real
/// Transform/Trainer components) ends with a pushed model that the model server (a separate process) serves; a second run
/// with a deliberately worse Trainer is NOT_BLESSED against the first, is not pushed, and the server keeps serving version 1.
/// </summary>
public sealed class PenguinsPipelineTests
{
    private const string Example = """{"examples":[{"bill_length_mm":39.1,"bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":3750,"island":"Torgersen","sex":"male"}]}""";
    private const string Row = """{"instances":[{"bill_length_mm":39.1,"bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":3750,"island":"Torgersen","sex":"male"}]}""";

    [Fact]
    public async Task RunPipeline_GoodThenWorseModel_FirstPushedAndServedSecondRejected()
    {
        using var temp = new TempFolder();
        using var metadata = SqliteMetadataStore.Open(temp.Combine("metadata.db"));
        var blobs = new LocalDirectoryBlobStore(temp.Combine("blobs"));
        var serving = temp.Combine("serving");
        var registry = ShippingComponents.Register(
            MlComponents.Register(ComponentRegistry.CreateWithBuiltIns(), metadata),
            metadata,
            new ShippingOptions { ModelServerPath = Paths.ModelServer, PushDestination = serving });
        var runner = new NodeRunner(registry, metadata, blobs);
        var definition = PipelineLoader.LoadFile(Path.Combine(Paths.RepositoryRoot(), "samples", "penguins_full.yaml")).DefinitionOrThrow();

        // Run 1: a trained model, blessed on value thresholds (no baseline yet), infra-blessed, pushed as version 1.
        var first = await RunAsync(runner, registry, definition, "run1");
        Assert.Equal(1, first["evaluator"].Outputs["blessing"].Properties[ShippingProperties.Blessed].IntValue);
        Assert.False(first["evaluator"].Outputs["blessing"].Properties.ContainsKey(ShippingProperties.BaselineModel));
        Assert.Equal(1, first["infra_validator"].Outputs["blessing"].Properties[ShippingProperties.Blessed].IntValue);
        var pushed = first["pusher"].Outputs["pushed_model"].Properties;
        Assert.Equal(1, pushed[ShippingProperties.Pushed].IntValue);
        Assert.Equal(1, pushed[ShippingProperties.PushedVersion].IntValue);
        Assert.True(File.Exists(Path.Combine(serving, "penguins", "1", "_READY")));

        var server = ModelServerProcess.Start(Paths.ModelServer, serving, ["--quiet"]);
        await using (server)
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
            await WaitAvailableAsync(http, server);
            var before = await PredictAsync(http);
            var probabilities = before["predictions"]!.AsArray()[0]!.AsArray().Select(p => p!.GetValue<double>()).ToArray();
            Assert.Equal(3, probabilities.Length);
            Assert.Equal(0, Array.IndexOf(probabilities, probabilities.Max())); // Adelie, the first class of the vocabulary order
            Assert.Equal(1.0, probabilities.Sum(), 4);

            // :classify names the species (issue 16): the Trainer's label vocabulary, in its order, with the scores.
            using (var classify = await http.PostAsync("v1/models/penguins:classify", new StringContent(Example, Encoding.UTF8, "application/json")))
            {
                var text = await classify.Content.ReadAsStringAsync();
                Assert.True(classify.IsSuccessStatusCode, text);
                var classes = JsonNode.Parse(text)!["result"]!.AsArray()[0]!.AsArray();
                Assert.Equal(["Adelie", "Gentoo", "Chinstrap"], classes.Select(c => c![0]!.GetValue<string>()));
                Assert.Equal(probabilities, classes.Select(c => c![1]!.GetValue<double>()).ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
            }

            // Run 2: one tiny optimizer step -> worse than the blessed baseline -> NOT_BLESSED, not pushed.
            var worse = RunParameters.Apply(definition, new Dictionary<string, string>
            {
                ["trainer.epochs"] = "1",
                ["trainer.batch_size"] = "4096",
                ["trainer.learning_rate"] = "0.00001",
            }, registry);
            var second = await RunAsync(runner, registry, worse, "run2");
            var blessing = second["evaluator"].Outputs["blessing"].Properties;
            Assert.Equal(0, blessing[ShippingProperties.Blessed].IntValue);
            Assert.Equal(first["trainer"].Outputs["model"].Uri, blessing[ShippingProperties.BaselineModel].StringValue);
            Assert.Contains("vs baseline", blessing["failed_checks"].StringValue, StringComparison.Ordinal);
            var notPushed = second["pusher"].Outputs["pushed_model"].Properties;
            Assert.Equal(0, notPushed[ShippingProperties.Pushed].IntValue);
            Assert.Contains("model_blessing (Evaluator) is not blessed", notPushed["reason"].StringValue, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(serving, "penguins", "2")));

            await Task.Delay(600); // several poll intervals of the server
            var status = JsonNode.Parse(await http.GetStringAsync("v1/models/penguins"))!["model_version_status"]!.AsArray();
            Assert.Equal("1", Assert.Single(status)!["version"]!.ToString());
            Assert.Equal("AVAILABLE", status[0]!["state"]!.ToString());
            Assert.Equal(before.ToJsonString(), (await PredictAsync(http)).ToJsonString());
        }
    }

    private static async Task<Dictionary<string, NodeRunResult>> RunAsync(NodeRunner runner, ComponentRegistry registry, PipelineDefinition definition, string runId)
    {
        var graph = PipelineValidator.Validate(definition, registry).GraphOrThrow();
        var results = new Dictionary<string, NodeRunResult>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            var result = await runner.RunAsync(NodeRunRequest.ForNode(graph, node.Id, runId, $"{runId}-{node.Id}", results));
            Assert.True(result.Succeeded, $"{node.Id}: {result.Error}");
            results[node.Id] = result;
        }

        return results;
    }

    private static async Task WaitAvailableAsync(HttpClient http, ModelServerProcess server)
    {
        for (var i = 0; i < 300; i++)
        {
            Assert.False(server.HasExited, server.OutputTail);
            try
            {
                var text = await http.GetStringAsync("v1/models/penguins");
                if (text.Contains("AVAILABLE", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        Assert.Fail("the pushed model did not become AVAILABLE in 30 s: " + server.OutputTail);
    }

    private static async Task<JsonNode> PredictAsync(HttpClient http)
    {
        using var response = await http.PostAsync("v1/models/penguins:predict", new StringContent(Row, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!;
    }
}

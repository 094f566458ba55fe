using System.Security.Cryptography;
using System.Text.Json;
using Serverless.Metadata;
using Serverless.Pipelines;

namespace Serverless.Pipelines.Tests;

public sealed class NodeRunnerTests : IDisposable
{
    private readonly TempFolder temp = new();
    private readonly SqliteMetadataStore metadata;
    private readonly InMemoryBlobStoreTestDouble blobs = new();
    private readonly ComponentRegistry registry = TestPipelines.Registry();
    private readonly string data;
    private int executorCalls;

    private static readonly IReadOnlyDictionary<string, NodeRunResult> None = new Dictionary<string, NodeRunResult>();

    public NodeRunnerTests()
    {
        metadata = SqliteMetadataStore.Open(Path.Combine(temp.Path, "metadata.db"));
        data = temp.Write("data/taxi.csv", "fare,tip\n1.5,0\n\"a\nb\",2\n3,4\n");
        registry.Register(new DelegateComponent(
            new ComponentSpec
            {
                Type = "Flaky",
                Version = "1",
                Inputs = [new ChannelSpec("examples", ArtifactTypes.Examples)],
                Outputs = [new ChannelSpec("schema", ArtifactTypes.Schema), new ChannelSpec("anomalies", ArtifactTypes.ExampleAnomalies)],
                Parameters = [new ParameterSpec("fail", ParameterType.Bool, Default: false), new ParameterSpec("wait", ParameterType.Bool, Default: false)],
            },
            async (inputs, outputs, parameters, context, cancellation) =>
            {
                Interlocked.Increment(ref executorCalls);
                await outputs["schema"].WriteTextAsync("schema.json", "{}", cancellation);
                if (parameters.GetBoolean("wait"))
                {
                    await Task.Delay(Timeout.Infinite, cancellation);
                }

                if (parameters.GetBoolean("fail"))
                {
                    throw new InvalidDataException("column 'fare' has negative values");
                }

                await outputs["anomalies"].WriteTextAsync("anomalies.json", "[]", cancellation);
                outputs["anomalies"].Properties["count"] = 0L;
            }));
    }

    public void Dispose()
    {
        metadata.Dispose();
        temp.Dispose();
    }

    private NodeRunner Runner() => new(registry, metadata, blobs);

    private PipelineGraph Graph(params NodeDefinition[] nodes) =>
        PipelineValidator.Validate(new PipelineDefinition { Name = "taxi", Nodes = nodes }, registry).GraphOrThrow();

    private PipelineGraph TwoNodes(bool hasHeader = true) => Graph(
        TestPipelines.Import("import", data),
        TestPipelines.Count("count", "import") with { Parameters = new Dictionary<string, MetadataValue> { ["has_header"] = hasHeader } });

    private static async Task<Dictionary<string, NodeRunResult>> RunAsync(NodeRunner runner, PipelineGraph graph, string runId)
    {
        var results = new Dictionary<string, NodeRunResult>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            var request = NodeRunRequest.ForNode(graph, node.Id, runId, $"{runId}-{node.Id}", results);
            results[node.Id] = await runner.RunAsync(request);
        }

        return results;
    }

    [Fact]
    public async Task RunAsync_TwoNodesInTopologicalOrder_PublishesOutputsAndRecordsComplete()
    {
        var results = await RunAsync(Runner(), TwoNodes(), "run1");

        Assert.All(results.Values, r => Assert.Equal(NodeRunStatus.Complete, r.Status));
        var statistics = results["count"].Outputs["statistics"];
        Assert.Equal("taxi/count/statistics/run1-count", statistics.Uri);
        Assert.Equal(MetadataValue.FromInt(3), statistics.Properties["row_count"]);
        Assert.Contains("\"total_rows\":3", blobs.ReadText("taxi/count/statistics/run1-count/row_count.json"), StringComparison.Ordinal);
        Assert.Contains($"{statistics.Uri}/{ArtifactLayout.MarkerName}", blobs.Names);
        Assert.DoesNotContain(blobs.Names, n => n.StartsWith(ArtifactLayout.StagingRoot, StringComparison.Ordinal));
        var examples = results["import"].Outputs["examples"];
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(data))), examples.Properties["source_fingerprint"].StringValue);
        Assert.Equal(File.ReadAllText(data), blobs.ReadText("taxi/import/examples/run1-import/taxi.csv"));

        var executions = await metadata.GetExecutionsOfRunAsync("run1");
        Assert.Equal(["FileCopy", "CsvRowCount"], executions.Select(e => e.Type));
        Assert.All(executions, e => Assert.Equal(ExecutionState.Complete, e.State));
        var io = await metadata.GetExecutionIoAsync(results["count"].MetadataExecutionId);
        Assert.Equal(("examples", examples.Id), (io.Inputs.Single().Channel, io.Inputs.Single().Artifact.Id));
        Assert.Equal(("statistics", statistics.Id), (io.Outputs.Single().Channel, io.Outputs.Single().Artifact.Id));
        Assert.Equal(ArtifactState.Live, io.Outputs.Single().Artifact.State);
    }

    [Fact]
    public async Task RunAsync_SecondRun_IsAllCachedWithTheSameArtifacts()
    {
        var first = await RunAsync(Runner(), TwoNodes(), "run1");
        var uploads = blobs.UploadCount;

        var second = await RunAsync(Runner(), TwoNodes(), "run2");

        Assert.All(second.Values, r => Assert.Equal(NodeRunStatus.Cached, r.Status));
        Assert.Equal(JsonSerializer.Serialize(first["count"].Outputs), JsonSerializer.Serialize(second["count"].Outputs));
        Assert.Equal(first["count"].MetadataExecutionId, second["count"].CachedFromExecutionId);
        Assert.Equal(first["count"].CacheKey, second["count"].CacheKey);
        Assert.Equal(uploads, blobs.UploadCount);
        var executions = await metadata.GetExecutionsOfRunAsync("run2");
        Assert.Equal(2, executions.Count);
        Assert.All(executions, e => Assert.Equal(ExecutionState.Cached, e.State));
        var cachedIo = await metadata.GetExecutionIoAsync(second["count"].MetadataExecutionId);
        Assert.Equal(first["count"].Outputs["statistics"].Id, cachedIo.Outputs.Single().Artifact.Id);
    }

    [Fact]
    public async Task GetUpstreamLineage_FinalArtifact_ListsEveryUpstreamArtifactAndTheSourceFingerprint()
    {
        var results = await RunAsync(Runner(), TwoNodes(), "run1");
        await RunAsync(Runner(), TwoNodes(), "run2");

        var lineage = await metadata.GetUpstreamLineageAsync(results["count"].Outputs["statistics"].Id);

        Assert.Equal([ArtifactTypes.ExampleStatistics, ArtifactTypes.Examples, ArtifactTypes.ExternalFile], lineage.Artifacts.Select(a => a.Type));
        var source = lineage.Artifacts[2];
        Assert.Equal(data, source.Uri);
        Assert.Equal(
            "sha256:" + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(data))),
            source.CustomProperties[ArtifactRecords.FingerprintProperty].StringValue);
        Assert.Contains(lineage.Executions, e => e.Type == "CsvRowCount" && e.State == ExecutionState.Complete);
        Assert.Contains(lineage.Executions, e => e.Type == "FileCopy" && e.State == ExecutionState.Complete);
    }

    [Fact]
    public async Task RunAsync_SourceContentChanged_RunsAgainWithANewFingerprint()
    {
        var first = await RunAsync(Runner(), TwoNodes(), "run1");
        File.AppendAllText(data, "5,6\n");

        var second = await RunAsync(Runner(), TwoNodes(), "run2");

        Assert.Equal(NodeRunStatus.Complete, second["import"].Status);
        Assert.Equal(NodeRunStatus.Complete, second["count"].Status);
        Assert.NotEqual(first["import"].Outputs["examples"].Fingerprint, second["import"].Outputs["examples"].Fingerprint);
        Assert.Equal(MetadataValue.FromInt(4), second["count"].Outputs["statistics"].Properties["row_count"]);
    }

    [Fact]
    public async Task RunAsync_ParameterChanged_RunsOnlyTheChangedNode()
    {
        await RunAsync(Runner(), TwoNodes(), "run1");

        var second = await RunAsync(Runner(), TwoNodes(hasHeader: false), "run2");

        Assert.Equal(NodeRunStatus.Cached, second["import"].Status);
        Assert.Equal(NodeRunStatus.Complete, second["count"].Status);
        Assert.Equal(MetadataValue.FromInt(4), second["count"].Outputs["statistics"].Properties["row_count"]);
    }

    [Fact]
    public async Task RunAsync_UserCodeChanged_MissesTheCache()
    {
        var module = temp.Write("module.py", "v = 1\n");
        var graph = () => Graph(TestPipelines.Import("import", data) with { UserCode = [module] });
        await RunAsync(Runner(), graph(), "run1");
        File.WriteAllText(module, "v = 2\n");

        var second = await RunAsync(Runner(), graph(), "run2");

        Assert.Equal(NodeRunStatus.Complete, second["import"].Status);
    }

    [Fact]
    public async Task RunAsync_CachedOutputDeletedFromStore_RunsAgain()
    {
        var first = await RunAsync(Runner(), TwoNodes(), "run1");
        await blobs.DeleteAsync($"{first["count"].Outputs["statistics"].Uri}/row_count.json");

        var second = await RunAsync(Runner(), TwoNodes(), "run2");

        Assert.Equal(NodeRunStatus.Cached, second["import"].Status);
        Assert.Equal(NodeRunStatus.Complete, second["count"].Status);
    }

    [Fact]
    public async Task RunAsync_CacheDisabled_RunsAgain()
    {
        await RunAsync(Runner(), TwoNodes(), "run1");
        var graph = Graph(TestPipelines.Import("import", data) with { EnableCache = false });

        var second = await RunAsync(Runner(), graph, "run2");

        Assert.Equal(NodeRunStatus.Complete, second["import"].Status);
    }

    [Fact]
    public async Task RunAsync_ExecutorThrows_RecordsFailedWithTheErrorAndPublishesNothing()
    {
        var graph = Graph(
            TestPipelines.Import("import", data),
            new NodeDefinition
            {
                Id = "check",
                Component = "Flaky",
                Inputs = new Dictionary<string, ChannelRef> { ["examples"] = new("import", "examples") },
                Parameters = new Dictionary<string, MetadataValue> { ["fail"] = true },
            });

        var results = await RunAsync(Runner(), graph, "run1");

        var failed = results["check"];
        Assert.Equal(NodeRunStatus.Failed, failed.Status);
        Assert.Equal("InvalidDataException: column 'fare' has negative values", failed.Error);
        Assert.Empty(failed.Outputs);
        Assert.DoesNotContain(blobs.Names, n => n.StartsWith("taxi/check/", StringComparison.Ordinal) || n.StartsWith(ArtifactLayout.StagingRoot, StringComparison.Ordinal));
        var execution = (await metadata.GetExecutionAsync(failed.MetadataExecutionId))!;
        Assert.Equal(ExecutionState.Failed, execution.State);
        Assert.Equal(failed.Error, execution.CustomProperties[NodeRunner.Properties.Error].StringValue);
        var io = await metadata.GetExecutionIoAsync(execution.Id);
        Assert.Single(io.Inputs);
        Assert.Empty(io.Outputs);
        Assert.Empty(await metadata.GetArtifactsByTypeAsync(ArtifactTypes.Schema));
        Assert.Throws<NodeFailedException>(() => failed.EnsureSucceeded());
    }

    [Fact]
    public async Task RunAsync_FailedExecutionRetriedWithSameId_TakesOverTheRecordAndCompletes()
    {
        NodeDefinition Check(bool fail) => new()
        {
            Id = "check",
            Component = "Flaky",
            Inputs = new Dictionary<string, ChannelRef> { ["examples"] = new("import", "examples") },
            Parameters = new Dictionary<string, MetadataValue> { ["fail"] = fail },
        };
        var runner = Runner();
        var results = await RunAsync(runner, Graph(TestPipelines.Import("import", data), Check(true)), "run1");
        var retryGraph = Graph(TestPipelines.Import("import", data), Check(false));

        var retried = await runner.RunAsync(NodeRunRequest.ForNode(retryGraph, "check", "run1", "run1-check", results));

        Assert.Equal(NodeRunStatus.Complete, retried.Status);
        Assert.Equal(results["check"].MetadataExecutionId, retried.MetadataExecutionId);
        var execution = (await metadata.GetExecutionAsync(retried.MetadataExecutionId))!;
        Assert.False(execution.CustomProperties.ContainsKey(NodeRunner.Properties.Error));
        Assert.Equal(MetadataValue.FromInt(0), retried.Outputs["anomalies"].Properties["count"]);
    }

    [Fact]
    public async Task RunAsync_SameExecutionIdDeliveredTwice_ReturnsTheRecordedResultWithoutRunning()
    {
        var runner = Runner();
        var graph = Graph(
            TestPipelines.Import("import", data),
            new NodeDefinition { Id = "check", Component = "Flaky", Inputs = new Dictionary<string, ChannelRef> { ["examples"] = new("import", "examples") }, EnableCache = false });
        var results = await RunAsync(runner, graph, "run1");
        var request = NodeRunRequest.ForNode(graph, "check", "run1", "run1-check", results);

        var again = await runner.RunAsync(request);

        Assert.Equal(1, executorCalls);
        Assert.Equal(results["check"], again with { Outputs = results["check"].Outputs });
        Assert.Equal(results["check"].Outputs.OrderBy(o => o.Key).Select(o => o.Value.Id), again.Outputs.OrderBy(o => o.Key).Select(o => o.Value.Id));
    }

    [Fact]
    public async Task RunAsync_Canceled_RecordsCanceledAndThrows()
    {
        var graph = Graph(
            TestPipelines.Import("import", data),
            new NodeDefinition
            {
                Id = "check",
                Component = "Flaky",
                Inputs = new Dictionary<string, ChannelRef> { ["examples"] = new("import", "examples") },
                Parameters = new Dictionary<string, MetadataValue> { ["wait"] = true },
            });
        var runner = Runner();
        var results = new Dictionary<string, NodeRunResult> { ["import"] = await runner.RunAsync(NodeRunRequest.ForNode(graph, "import", "run1", "e1", None)) };
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runner.RunAsync(NodeRunRequest.ForNode(graph, "check", "run1", "e2", results), cancel.Token));

        var execution = (await metadata.GetExecutionsOfRunAsync("run1")).Single(e => e.Type == "Flaky");
        Assert.Equal(ExecutionState.Canceled, execution.State);
        Assert.DoesNotContain(blobs.Names, n => n.Contains("/check/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_InputWithoutMarker_FailsWithoutRunningTheExecutor()
    {
        var runner = Runner();
        var graph = Graph(
            TestPipelines.Import("import", data),
            new NodeDefinition { Id = "check", Component = "Flaky", Inputs = new Dictionary<string, ChannelRef> { ["examples"] = new("import", "examples") } });
        var results = new Dictionary<string, NodeRunResult> { ["import"] = await runner.RunAsync(NodeRunRequest.ForNode(graph, "import", "run1", "e1", None)) };
        await blobs.DeleteAsync($"{results["import"].Outputs["examples"].Uri}/{ArtifactLayout.MarkerName}");

        var result = await runner.RunAsync(NodeRunRequest.ForNode(graph, "check", "run1", "e2", results));

        Assert.Equal(NodeRunStatus.Failed, result.Status);
        Assert.Contains("not a complete artifact", result.Error, StringComparison.Ordinal);
        Assert.Equal(0, executorCalls);
    }

    [Fact]
    public async Task RunAsync_SourceDeletedAfterValidation_RecordsFailed()
    {
        var graph = TwoNodes();
        File.Delete(data);

        var result = await Runner().RunAsync(NodeRunRequest.ForNode(graph, "import", "run1", "e1", None));

        Assert.Equal(NodeRunStatus.Failed, result.Status);
        Assert.StartsWith("FileNotFoundException", result.Error, StringComparison.Ordinal);
        Assert.Equal(ExecutionState.Failed, (await metadata.GetExecutionAsync(result.MetadataExecutionId))!.State);
    }

    [Fact]
    public async Task RunAsync_UnknownParameterInRequest_ThrowsArgumentException()
    {
        var request = NodeRunRequest.ForNode(TwoNodes(), "import", "run1", "e1", None) with
        {
            Parameters = new Dictionary<string, MetadataValue> { ["source"] = data, ["sorce"] = data },
        };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => Runner().RunAsync(request));

        Assert.Contains("'sorce'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Messages_RequestAndResult_RoundTripThroughJson()
    {
        var graph = TwoNodes();
        var runner = Runner();
        var import = await runner.RunAsync(NodeRunRequest.ForNode(graph, "import", "run1", "e1", None));
        var request = NodeRunRequest.ForNode(graph, "count", "run1", "e2", new Dictionary<string, NodeRunResult> { ["import"] = import });

        var requestBack = JsonSerializer.Deserialize<NodeRunRequest>(JsonSerializer.Serialize(request))!;
        var result = await runner.RunAsync(requestBack);
        var json = JsonSerializer.Serialize(result);
        var resultBack = JsonSerializer.Deserialize<NodeRunResult>(json)!;

        Assert.Equal(NodeRunStatus.Complete, result.Status);
        Assert.Contains("\"Status\":\"Complete\"", json, StringComparison.Ordinal);
        Assert.Equal(JsonSerializer.Serialize(request), JsonSerializer.Serialize(requestBack));
        Assert.Equal(json, JsonSerializer.Serialize(resultBack));
        Assert.Equal(result.Outputs["statistics"].Properties["row_count"], resultBack.Outputs["statistics"].Properties["row_count"]);
    }
}

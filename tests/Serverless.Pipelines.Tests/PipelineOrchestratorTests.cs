using System.Collections.Concurrent;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Metadata;
using Serverless.Pipelines.Orchestration;
using Serverless.Storage;

namespace Serverless.Pipelines.Tests;

/// <summary>The generic orchestrator on the real Durable Task runtime (DTFx with the SQLite provider), SQLite metadata and a local-directory blob store.</summary>
public sealed class PipelineOrchestratorTests : IAsyncLifetime
{
    private readonly TempFolder temp = new();
    private readonly ComponentRegistry registry = TestPipelines.Registry();
    private readonly ConcurrentDictionary<string, int> executions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> failuresLeft = new(StringComparer.Ordinal);
    private SqliteMetadataStore metadata = null!;
    private DurableTestHost host = null!;
    private DurableTaskClient client = null!;
    private PipelineRunStarter starter = null!;
    private string data = null!;

    public async Task InitializeAsync()
    {
        data = temp.Write("data/rows.csv", "a,b\n1,2\n3,4\n5,6\n");
        // Probe: examples -> schema; counts its executions per node; fails while failuresLeft[node] > 0 or when fail=true.
        registry.Register(new DelegateComponent(
            new ComponentSpec
            {
                Type = "Probe",
                Version = "1",
                Inputs = [new ChannelSpec("examples", ArtifactTypes.Examples), new ChannelSpec("statistics", ArtifactTypes.ExampleStatistics, Optional: true), new ChannelSpec("upstream", ArtifactTypes.Schema, Optional: true)],
                Outputs = [new ChannelSpec("schema", ArtifactTypes.Schema)],
                Parameters = [new ParameterSpec("fail", ParameterType.Bool, Default: false)],
            },
            async (inputs, outputs, parameters, context, cancellation) =>
            {
                executions.AddOrUpdate(context.NodeId, 1, (_, n) => n + 1);
                if (parameters.GetBoolean("fail"))
                {
                    throw new InvalidDataException($"probe {context.NodeId} refuses");
                }

                if (failuresLeft.TryGetValue(context.NodeId, out var left) && left > 0)
                {
                    failuresLeft[context.NodeId] = left - 1;
                    throw new IOException("transient");
                }

                await outputs["schema"].WriteTextAsync("schema.json", $"{{\"node\":\"{context.NodeId}\"}}", cancellation);
            }));
        metadata = SqliteMetadataStore.Open(Path.Combine(temp.Path, "metadata.db"));
        var blobs = new LocalDirectoryBlobStore(Path.Combine(temp.Path, "blobs"));
        var runner = new NodeRunner(registry, metadata, blobs);
        host = await DurableTestHost.StartAsync(temp.Path, s => s.AddSingleton(registry).AddSingleton(runner), r => r.AddPipelineOrchestration(() => registry));
        client = host.Client;
        starter = new PipelineRunStarter(client, registry);
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        metadata.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        temp.Dispose();
    }

    // import -> count ; import -> left (Probe) ; import+count -> right (Probe; its pool is recorded, not routed) ; left -> final (Probe)
    private PipelineDefinition Diamond(bool failLeft = false, ApprovalGate? gate = null, RetrySettings? retry = null) => new()
    {
        Name = "demo",
        Nodes =
        [
            TestPipelines.Import("import", data),
            TestPipelines.Count("count", "import"),
            Probe("left", failLeft) with { Retry = retry },
            Probe("right") with { Pool = "gpu", Inputs = new Dictionary<string, ChannelRef> { ["examples"] = new("import", "examples"), ["statistics"] = new("count", "statistics") } },
            Probe("final", after: "left") with { Approval = gate },
        ],
    };

    private static NodeDefinition Probe(string id, bool fail = false, string? after = null)
    {
        var inputs = new Dictionary<string, ChannelRef> { ["examples"] = new("import", "examples") };
        if (after is not null)
        {
            inputs["upstream"] = new(after, "schema");
        }

        return new NodeDefinition
        {
            Id = id,
            Component = "Probe",
            Inputs = inputs,
            Parameters = new Dictionary<string, MetadataValue> { ["fail"] = fail },
        };
    }

    private async Task<OrchestrationMetadata> RunAsync(PipelineDefinition pipeline, string runId, string? from = null, Func<Task>? whileRunning = null)
    {
        await starter.StartAsync(starter.Prepare(pipeline, runId, from: from));
        if (whileRunning is not null)
        {
            await whileRunning();
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await client.WaitForInstanceCompletionAsync(runId, true, cts.Token);
    }

    private static Dictionary<string, NodeRunState> Nodes(OrchestrationMetadata m) =>
        m.ReadCustomStatusAs<PipelineRunStatus>()!.Nodes.ToDictionary(n => n.Node);

    [Fact]
    public async Task Run_DiamondPipeline_EveryNodeCompleteWithArtifactsAndDurations()
    {
        var result = await RunAsync(Diamond(), "run1");
        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ToString());
        var output = result.ReadOutputAs<PipelineRunStatus>()!;
        Assert.Equal(PipelineRunState.Succeeded, output.State);
        Assert.Equal(["import", "count", "left", "right", "final"], output.Nodes.Select(n => n.Node));
        Assert.All(output.Nodes, n => Assert.Equal(NodeState.Complete, n.State));
        Assert.All(output.Nodes, n => Assert.NotNull(n.DurationSeconds));
        Assert.StartsWith("demo/count/statistics/run1-", Nodes(result)["count"].Artifacts["statistics"], StringComparison.Ordinal);
        Assert.Equal(1, executions["right"]);
        var executionsOfRun = await metadata.GetExecutionsOfRunAsync("run1");
        Assert.Equal(5, executionsOfRun.Count);
        Assert.All(executionsOfRun, e => Assert.Equal(ExecutionState.Complete, e.State));
    }

    [Fact]
    public async Task Run_FinalArtifact_LineageListsEveryUpstreamArtifact()
    {
        var result = await RunAsync(Diamond(), "lineage1");
        var final = Nodes(result)["final"];
        var lineage = await metadata.GetUpstreamLineageAsync(final.ArtifactIds["schema"]);
        var uris = lineage.Artifacts.Select(a => a.Uri).ToList();
        Assert.Contains(final.Artifacts["schema"], uris);
        Assert.Contains(Nodes(result)["import"].Artifacts["examples"], uris);
                Assert.Contains(data, uris); // the source file, as an ExternalFile with its fingerprint
        Assert.Contains(Nodes(result)["left"].Artifacts["schema"], uris);
        Assert.DoesNotContain(Nodes(result)["right"].Artifacts["schema"], uris);
        Assert.Equal(3, lineage.Executions.Count); // final, left, import
    }

    [Fact]
    public async Task Run_SecondIdenticalRun_EveryNodeCached()
    {
        await RunAsync(Diamond(), "first");
        var second = await RunAsync(Diamond(), "second");
        Assert.All(Nodes(second).Values, n => Assert.Equal(NodeState.Cached, n.State));
        Assert.Equal(1, executions["left"]);
        Assert.Contains("0 executed, 5 cached", second.ReadOutputAs<PipelineRunStatus>()!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_FailingNode_DownstreamSkippedRunFailedAndRestartExecutesOnlyFailedAndDownstream()
    {
        var failed = await RunAsync(Diamond(failLeft: true), "broken");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Contains("node 'left' FAILED", failed.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("probe left refuses", failed.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        var nodes = Nodes(failed);
        Assert.Equal(NodeState.Failed, nodes["left"].State);
        Assert.Equal(NodeState.Skipped, nodes["final"].State);
        Assert.Equal(NodeState.Complete, nodes["right"].State); // an independent branch finishes
        Assert.False(executions.ContainsKey("final"));
        var recorded = await metadata.GetExecutionsOfRunAsync("broken");
        Assert.Contains(recorded, e => e.State == ExecutionState.Failed && e.CustomProperties["error"].StringValue!.Contains("refuses", StringComparison.Ordinal));

        // Same run id again with the node fixed: only left and final execute.
        var again = await RunAsync(Diamond(failLeft: false), "broken");
        Assert.Equal(OrchestrationRuntimeStatus.Completed, again.RuntimeStatus);
        nodes = Nodes(again);
        Assert.Equal([NodeState.Cached, NodeState.Cached, NodeState.Complete, NodeState.Cached, NodeState.Complete], nodes.Values.Select(n => n.State));
        Assert.Equal(1, executions["right"]);
        Assert.Equal(1, executions["final"]);
    }

    [Fact]
    public async Task Run_From_ReexecutesNodeAndDownstreamOnly()
    {
        await RunAsync(Diamond(), "full");
        var partial = await RunAsync(Diamond(), "partial", from: "left");
        var nodes = Nodes(partial);
        Assert.Equal(NodeState.Cached, nodes["import"].State);
        Assert.Equal(NodeState.Cached, nodes["right"].State);
        Assert.Equal(NodeState.Complete, nodes["left"].State);
        Assert.Equal(NodeState.Complete, nodes["final"].State);
        Assert.Equal(2, executions["left"]);
        Assert.Equal(2, executions["final"]);
        Assert.Throws<PipelineValidationException>(() => starter.Prepare(Diamond(), "x", from: "nope"));
    }

    [Fact]
    public async Task Run_TransientFailureWithRetry_SucceedsOnSecondAttempt()
    {
        failuresLeft["left"] = 1;
        var result = await RunAsync(Diamond(retry: new RetrySettings(2, TimeSpan.FromMilliseconds(50))), "retry1");
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(2, executions["left"]);
    }

    [Fact]
    public async Task Run_ApprovalApproved_GatedNodeRuns()
    {
        var result = await RunAsync(Diamond(gate: new ApprovalGate("approve-final", TimeSpan.FromMinutes(5))), "approve1", whileRunning: async () =>
        {
            await WaitForNodeAsync("approve1", "final", NodeState.WaitingForApproval);
            Assert.False(executions.ContainsKey("final"));
            await client.RaiseEventAsync("approve1", "approve-final", new ApprovalDecision(true, "early, no token")); // ignored
            await client.RaiseEventAsync("approve1", "approve-final", new ApprovalDecision(true, "ok", await TokenAsync("approve1", "final")));
        });
        Assert.Equal(PipelineRunState.Succeeded, result.ReadOutputAs<PipelineRunStatus>()!.State);
        Assert.Equal(1, executions["final"]);
    }

    [Fact]
    public async Task Run_ApprovalRejected_RunEndsRejectedAndGatedNodeNotRun()
    {
        var result = await RunAsync(Diamond(gate: new ApprovalGate("approve-final", TimeSpan.FromMinutes(5))), "reject1", whileRunning: async () =>
        {
            await WaitForNodeAsync("reject1", "final", NodeState.WaitingForApproval);
            await client.RaiseEventAsync("reject1", "approve-final", new ApprovalDecision(false, "metrics too low", await TokenAsync("reject1", "final")));
        });
        var output = result.ReadOutputAs<PipelineRunStatus>()!;
        Assert.Equal(PipelineRunState.Rejected, output.State);
        Assert.Contains("metrics too low", output.Message, StringComparison.Ordinal);
        Assert.False(executions.ContainsKey("final"));
    }

    [Fact]
    public async Task Run_ApprovalTimesOut_RunEndsApprovalTimedOut()
    {
        var result = await RunAsync(Diamond(gate: new ApprovalGate("approve-final", TimeSpan.FromMilliseconds(300))), "timeout1");
        var output = result.ReadOutputAs<PipelineRunStatus>()!;
        Assert.Equal(PipelineRunState.ApprovalTimedOut, output.State);
        Assert.Equal(NodeState.TimedOut, output.Nodes.Single(n => n.Node == "final").State);
        Assert.False(executions.ContainsKey("final"));
    }

    [Fact]
    public void Prepare_MissingDataPathOrBadParameter_ThrowsBeforeStart()
    {
        var missing = Assert.Throws<PipelineValidationException>(() => starter.Prepare(Diamond(), "r", new Dictionary<string, string> { ["source"] = "/no/such/file.csv" }, source: ParameterSource.Operator));
        Assert.Contains("/no/such/file.csv", missing.Message, StringComparison.Ordinal);
        var requested = Assert.Throws<PipelineValidationException>(() => starter.Prepare(Diamond(), "r", new Dictionary<string, string> { ["source"] = "/no/such/file.csv" }));
        Assert.Contains("operator setting", requested.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<PipelineValidationException>(() => starter.Prepare(Diamond(), "r", new Dictionary<string, string> { ["left.colour"] = "red" }));
        Assert.Contains("no parameter 'colour'", unknown.Message, StringComparison.Ordinal);
        var typed = Assert.Throws<PipelineValidationException>(() => starter.Prepare(Diamond(), "r", new Dictionary<string, string> { ["fail"] = "maybe" }));
        Assert.Contains("not a valid bool", typed.Message, StringComparison.Ordinal);
        var applied = starter.Prepare(Diamond(), "r", new Dictionary<string, string> { ["count.has_header"] = "false" });
        Assert.False(applied.Pipeline.Nodes.Single(n => n.Id == "count").Parameters["has_header"].BoolValue);
        Assert.Equal("import.source", RunParameters.DataParameter(Diamond(), registry));
    }

    [Fact]
    public async Task Run_PoisonInput100000NodeCycle_InstanceFailsAndTheWorkerRunsTheNextRun()
    {
        var nodes = Enumerable.Range(0, 100_000).Select(i => new NodeDefinition
        {
            Id = $"n{i}",
            Component = "StatsToStats",
            Inputs = new Dictionary<string, ChannelRef> { ["statistics"] = new($"n{(i + 99_999) % 100_000}", "statistics") },
        }).ToList();
        var poison = new PipelineRunInput { Pipeline = new PipelineDefinition { Name = "poison", Nodes = nodes }, RunId = "poison" };

        await client.ScheduleNewOrchestrationInstanceAsync(PipelineOrchestrator.Name, poison, new StartOrchestrationOptions("poison"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var failed = await client.WaitForInstanceCompletionAsync("poison", getInputsAndOutputs: false, timeout.Token);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Contains("more than the limit of 1000", failed.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        await starter.StartAsync(starter.Prepare(Diamond(), "after-poison"));
        var next = await client.WaitForInstanceCompletionAsync("after-poison", getInputsAndOutputs: false, timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, next.RuntimeStatus);
    }

    private async Task<string> TokenAsync(string runId, string node) =>
        (await client.GetInstanceAsync(runId, true))!.ReadCustomStatusAs<PipelineRunStatus>()!.Nodes.Single(n => n.Node == node).ApprovalToken!;

    [Fact]
    public async Task Run_ApprovalRaisedBeforeTheGateWaits_IgnoredGateStillWaitsForItsOwnDecision()
    {
        var result = await RunAsync(Diamond(gate: new ApprovalGate("approve-final", TimeSpan.FromMinutes(5))), "early1", whileRunning: async () =>
        {
            // Raised at once, before 'final' waits: Durable Task buffers it and hands it to the later wait, which ignores it.
            await client.RaiseEventAsync("early1", "approve-final", new ApprovalDecision(true, "too early"));
            await WaitForNodeAsync("early1", "final", NodeState.WaitingForApproval);
            await client.RaiseEventAsync("early1", "approve-final", new ApprovalDecision(true, "stale token", "0123"));
            await Task.Delay(300);
            Assert.False(executions.ContainsKey("final"));
            Assert.Equal(NodeState.WaitingForApproval, (await client.GetInstanceAsync("early1", true))!.ReadCustomStatusAs<PipelineRunStatus>()!.Nodes.Single(n => n.Node == "final").State);
            await client.RaiseEventAsync("early1", "approve-final", new ApprovalDecision(false, "real decision", await TokenAsync("early1", "final")));
        });
        Assert.Equal(PipelineRunState.Rejected, result.ReadOutputAs<PipelineRunStatus>()!.State);
        Assert.False(executions.ContainsKey("final"));
    }

    private async Task WaitForNodeAsync(string runId, string node, NodeState state)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var m = await client.GetInstanceAsync(runId, true);
            if (m?.ReadCustomStatusAs<PipelineRunStatus>()?.Nodes.FirstOrDefault(n => n.Node == node)?.State == state)
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"node {node} never reached {state}");
    }
}

using Serverless.Metadata;

namespace Serverless.Pipelines.Tests;

/// <summary>Cancellation recorded in the metadata store, as the node runner reads it (issue 18, item 6).</summary>
public sealed class RunCancellationTests : IDisposable
{
    private readonly TempFolder temp = new();
    private readonly SqliteMetadataStore metadata;
    private readonly ComponentRegistry registry = TestPipelines.Registry();
    private readonly TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int runs;

    public RunCancellationTests()
    {
        metadata = SqliteMetadataStore.Open(Path.Combine(temp.Path, "metadata.db"));
        registry.Register(new DelegateComponent(
            new ComponentSpec { Type = "Wait", Version = "1", Outputs = [new ChannelSpec("schema", ArtifactTypes.Schema)] },
            async (_, outputs, _, _, cancellation) =>
            {
                Interlocked.Increment(ref runs);
                started.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellation);
            }));
    }

    public void Dispose()
    {
        metadata.Dispose();
        temp.Dispose();
    }

    private (NodeRunner Runner, NodeRunRequest Request) Setup(MetadataRunCancellation cancellations)
    {
        var graph = PipelineValidator.Validate(new PipelineDefinition { Name = "p", Nodes = [new NodeDefinition { Id = "wait", Component = "Wait" }] }, registry).GraphOrThrow();
        var runner = new NodeRunner(registry, metadata, new InMemoryBlobStoreTestDouble(), options: new NodeRunnerOptions { Cancellation = cancellations, CancellationPollInterval = TimeSpan.FromMilliseconds(50) });
        return (runner, NodeRunRequest.ForNode(graph, "wait", "run-1", "run-1-abcd1234-wait", new Dictionary<string, NodeRunResult>()));
    }

    [Fact]
    public async Task RunAsync_CanceledWhileRunning_ExecutorTokenFiresAndExecutionCanceled()
    {
        var cancellations = new MetadataRunCancellation(metadata);
        var (runner, request) = Setup(cancellations);

        var run = runner.RunAsync(request);
        await started.Task;
        await cancellations.CancelAsync("run-1", "run-1-abcd1234", "test");
        var result = await run;

        Assert.Equal(NodeRunStatus.Canceled, result.Status);
        Assert.Contains("test", result.Error, StringComparison.Ordinal);
        Assert.Equal(ExecutionState.Canceled, (await metadata.GetExecutionByNameAsync("Wait", "p/wait/run-1-abcd1234-wait"))!.State);
        Assert.Throws<NodeFailedException>(() => result.EnsureSucceeded());
    }

    [Fact]
    public async Task RunAsync_IncarnationCanceledThenRunIdRestarted_StaleNodeStillNeverStarts()
    {
        var cancellations = new MetadataRunCancellation(metadata);
        var (runner, request) = Setup(cancellations);
        await cancellations.CancelAsync("run-1", "run-1-abcd1234", "stop");
        await cancellations.ClearRunAsync("run-1");

        var result = await runner.RunAsync(request);

        Assert.Equal(NodeRunStatus.Canceled, result.Status);
        Assert.Equal(0, runs);
        Assert.Null(await cancellations.GetCancellationAsync("run-1", "run-1-ffff0000"));
    }

    [Theory]
    [InlineData("run-1", "run-1-abcd1234-wait", "wait", "run-1-abcd1234")]
    [InlineData("run-1", "other-abcd1234-wait", "wait", null)]
    [InlineData("run-1", "run-1-wait", "wait", null)]
    [InlineData("run-1", null, "wait", null)]
    public void IncarnationOf_OrchestratorExecutionIds_RunIdAndTag(string runId, string? executionId, string node, string? expected) =>
        Assert.Equal(expected, MetadataRunCancellation.IncarnationOf(runId, executionId, node));
}

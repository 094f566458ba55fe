using Microsoft.DurableTask;

namespace Serverless.Pipelines.Orchestration;

/// <summary>
/// The node activity of <see cref="PipelineOrchestrator"/>: runs one node through the <see cref="NodeRunner"/> and throws
/// when the node failed, so the node's retry policy applies and the orchestrator sees a <see cref="TaskFailedException"/>
/// naming the error. A Microsoft.DurableTask class created through DI (the host registers its <see cref="NodeRunner"/>),
/// so it runs unchanged in an Azure Functions isolated app. Activities run at least once: the runner makes a repeated
/// execution idempotent (execution ids, artifacts published last, the start count in metadata).
/// </summary>
[DurableTask(Name)]
public sealed class RunPipelineNodeActivity : TaskActivity<NodeRunRequest, NodeRunResult>
{
    /// <summary>The activity's registered name.</summary>
    public const string Name = "RunPipelineNode";

    private readonly NodeRunner runner;

    /// <summary>Creates the activity over the host's node runner.</summary>
    public RunPipelineNodeActivity(NodeRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        this.runner = runner;
    }

    /// <inheritdoc/>
    public override Task<NodeRunResult> RunAsync(TaskActivityContext context, NodeRunRequest input) => RunNodeAsync(runner, input);

    /// <summary>
    /// What every node activity does, whatever its name (<see cref="ComponentActivities"/>) and host (the local runtime, an
    /// Azure Functions activity function): runs the node and throws when it failed.
    /// </summary>
    /// <exception cref="NodeFailedException">The node failed (the retry policy applies).</exception>
    public static async Task<NodeRunResult> RunNodeAsync(NodeRunner runner, NodeRunRequest input)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(input);
        // The SDK's activity context carries no cancellation token: a run is stopped through the runner's IRunCancellation
        // (the cancel route, a terminated or purged instance), which it polls while the executor runs.
        return (await runner.RunAsync(input, CancellationToken.None).ConfigureAwait(false)).EnsureSucceeded();
    }
}

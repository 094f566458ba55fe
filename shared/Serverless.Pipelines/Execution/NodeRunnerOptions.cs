namespace Serverless.Pipelines;

/// <summary>Host settings of a <see cref="NodeRunner"/>: what a node may touch. Defaults suit a library caller that trusts
/// its pipelines; hosts (function app, CLI, trainer app) always pass their allowed roots.</summary>
public sealed class NodeRunnerOptions
{
    /// <summary>The folders parameter locations must resolve inside, checked (symbolic links followed) just before the
    /// executor starts; a violation fails the node without running it. Default null: not checked.</summary>
    public PipelineRoots? Roots { get; init; }

    /// <summary>Bounds; the runner uses <see cref="PipelineLimits.MaxNodeStarts"/>. Default <see cref="PipelineLimits.Default"/>.</summary>
    public PipelineLimits Limits { get; init; } = PipelineLimits.Default;

    /// <summary>Where canceled runs are recorded (the cancel route writes, the runner reads); null: runs are only stopped by
    /// the token passed to <see cref="NodeRunner.RunAsync"/>. Hosts pass theirs.</summary>
    public IRunCancellation? Cancellation { get; init; }

    /// <summary>How often a running node asks <see cref="Cancellation"/> whether its run was canceled. Default 1 s.</summary>
    public TimeSpan CancellationPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The scratch root handed to executors (<see cref="ExecutorContext.ScratchDirectory"/>); default null.</summary>
    public string? ScratchDirectory { get; init; }
}

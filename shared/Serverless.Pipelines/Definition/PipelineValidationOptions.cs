namespace Serverless.Pipelines;

/// <summary>What <see cref="PipelineValidator"/> checks besides a pipeline's structure.</summary>
public sealed record PipelineValidationOptions
{
    /// <summary>Whether path parameters and user code must exist now (true before a run; the orchestrator, which must not
    /// touch the file system, passes false). Default true.</summary>
    public bool CheckPaths { get; init; } = true;

    /// <summary>The folders locations must resolve inside; null: not checked (a library caller that trusts its pipelines).
    /// Hosts always pass theirs.</summary>
    public PipelineRoots? Roots { get; init; }

    /// <summary>Size bounds; default <see cref="PipelineLimits.Default"/>.</summary>
    public PipelineLimits Limits { get; init; } = PipelineLimits.Default;
}

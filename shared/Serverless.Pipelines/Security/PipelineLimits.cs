namespace Serverless.Pipelines;

/// <summary>
/// Bounds on what a pipeline file, a run request and a node may cost, so no input can exhaust memory, time or the stack
/// of the host (host.json <c>extensions.pipelines.limits</c>; the defaults fit every sample with room to spare). Each
/// limit is checked before anything runs and its error names the place and the setting that raises it.
/// </summary>
public sealed record PipelineLimits
{
    /// <summary>The defaults.</summary>
    public static PipelineLimits Default { get; } = new();

    /// <summary>Largest pipeline file (YAML or JSON), in bytes. Default 1 MiB (<c>maxPipelineFileBytes</c>).</summary>
    public long MaxPipelineFileBytes { get; init; } = 1 << 20;

    /// <summary>Most nodes in one pipeline. Default 1,000 (<c>maxNodes</c>).</summary>
    public int MaxNodes { get; init; } = 1000;

    /// <summary>Longest parameter value (and run parameter key), in characters. Default 65,536 (<c>maxParameterLength</c>).</summary>
    public int MaxParameterLength { get; init; } = 64 * 1024;

    /// <summary>Largest HTTP request body the pipeline API reads (a run request with its parameters), in bytes. Default
    /// 1 MiB (<c>maxRequestBytes</c>); a larger body is answered 413 without being read.</summary>
    public long MaxRequestBytes { get; init; } = 1 << 20;

    /// <summary>Deepest nesting of mappings and lists in a pipeline file. Default 32 (<c>maxNestingDepth</c>).</summary>
    public int MaxNestingDepth { get; init; } = 32;

    /// <summary>Most YAML aliases (<c>*name</c>) in a pipeline file; each may stand for a large subtree. Default 100 (<c>maxYamlAliases</c>).</summary>
    public int MaxYamlAliases { get; init; } = 100;

    /// <summary>Largest <c>retry.max_attempts</c> a node may ask for. Default 10 (<c>maxRetryAttempts</c>).</summary>
    public int MaxRetryAttempts { get; init; } = 10;

    /// <summary>
    /// How often one node execution may be started without finishing (its process died each time, e.g. killed for
    /// memory) before the node fails instead of starting again: a poison input fails its run, it does not crash-loop the
    /// host. Default 3 (<c>maxNodeStarts</c>).
    /// </summary>
    public int MaxNodeStarts { get; init; } = 3;

    /// <summary>Throws when a limit is not positive (a bad host.json value).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is zero or negative.</exception>
    public void EnsureValid()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPipelineFileBytes, 1, nameof(MaxPipelineFileBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNodes, 1, nameof(MaxNodes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxParameterLength, 1, nameof(MaxParameterLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestBytes, 1024, nameof(MaxRequestBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNestingDepth, 4, nameof(MaxNestingDepth));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxYamlAliases, 0, nameof(MaxYamlAliases));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRetryAttempts, 1, nameof(MaxRetryAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNodeStarts, 1, nameof(MaxNodeStarts));
    }
}

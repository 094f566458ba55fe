using System.Text.Json.Serialization;
using Serverless.Metadata;

namespace Serverless.Pipelines;

/// <summary>
/// A pipeline as declared: a name and component instances (nodes) wired output-to-input. Written in C# or
/// loaded by <see cref="PipelineLoader"/>; checked by <see cref="PipelineValidator"/> before anything runs.
/// A plain JSON-serializable record, so it can be an orchestration's input.
/// </summary>
public sealed record PipelineDefinition
{
    /// <summary>The pipeline name: the first segment of artifact paths and the <c>pipeline</c> context's name.</summary>
    public required string Name { get; init; }

    /// <summary>The nodes, in declaration order (ties in the topological order keep this order).</summary>
    public IReadOnlyList<NodeDefinition> Nodes { get; init; } = [];

    /// <summary>The folder that relative paths (path parameters, user code) are resolved against; the
    /// pipeline file's folder when loaded from a file, the current directory when null.</summary>
    public string? BaseDirectory { get; init; }

    /// <summary>The file it was loaded from, for error messages; null when declared in code.</summary>
    public string? SourceFile { get; init; }
}

/// <summary>One component instance in a pipeline.</summary>
public sealed record NodeDefinition
{
    /// <summary>The node id, unique in the pipeline; a segment of artifact paths.</summary>
    public required string Id { get; init; }

    /// <summary>The component type, as registered in the <see cref="ComponentRegistry"/>.</summary>
    public required string Component { get; init; }

    /// <summary>Input channel name -> the upstream node output that feeds it.</summary>
    public IReadOnlyDictionary<string, ChannelRef> Inputs { get; init; } = new Dictionary<string, ChannelRef>();

    /// <summary>Parameter values; unset parameters take the spec's defaults.</summary>
    public IReadOnlyDictionary<string, MetadataValue> Parameters { get; init; } = MetadataMaps.Empty;

    /// <summary>Files or folders of user code the node runs (e.g. a trainer module): they must exist and their
    /// content fingerprint is part of the cache key.</summary>
    public IReadOnlyList<string> UserCode { get; init; } = [];

    /// <summary>Retries of the node's activity; null means the orchestrator's default (no retry).</summary>
    public RetrySettings? Retry { get; init; }

    /// <summary>When set, the node waits for an external event (an approval) before it runs.</summary>
    public ApprovalGate? Approval { get; init; }

    /// <summary>The worker pool that runs the node's activity: <c>default</c>, or e.g. <c>gpu</c> for training.</summary>
    public string Pool { get; init; } = "default";

    /// <summary>Whether an earlier identical execution may be reused instead of running (default true).</summary>
    public bool EnableCache { get; init; } = true;

    /// <summary>The line of the node in its pipeline file, for error messages; null when declared in code.</summary>
    [JsonIgnore]
    public int? SourceLine { get; init; }
}

/// <summary>A reference to a node's output: <c>node.output</c> in pipeline files.</summary>
/// <param name="Node">The producing node's id.</param>
/// <param name="Output">The output channel name.</param>
public sealed record ChannelRef(string Node, string Output)
{
    /// <summary>Parses <c>node.output</c> (the last '.' separates them, since node ids may contain dots).</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ChannelRef? reference)
    {
        reference = null;
        var dot = text?.LastIndexOf('.') ?? -1;
        if (text is null || dot <= 0 || dot == text.Length - 1)
        {
            return false;
        }

        reference = new ChannelRef(text[..dot], text[(dot + 1)..]);
        return true;
    }

    /// <summary>The <c>node.output</c> form.</summary>
    public override string ToString() => $"{Node}.{Output}";
}

/// <summary>
/// How a node's activity is retried. The orchestrator maps it to the durable engine's
/// <c>RetryPolicy(maxNumberOfAttempts, firstRetryInterval, backoffCoefficient, maxRetryInterval, retryTimeout)</c>.
/// </summary>
/// <param name="MaxAttempts">Total attempts including the first (1 = no retry).</param>
/// <param name="FirstRetryInterval">The wait before the first retry.</param>
/// <param name="BackoffCoefficient">Each wait is the previous one times this (>= 1).</param>
/// <param name="MaxRetryInterval">The longest wait between attempts; null for no cap.</param>
/// <param name="RetryTimeout">Give up retrying after this long in total; null for no limit.</param>
public sealed record RetrySettings(
    int MaxAttempts,
    TimeSpan FirstRetryInterval,
    double BackoffCoefficient = 1.0,
    TimeSpan? MaxRetryInterval = null,
    TimeSpan? RetryTimeout = null);

/// <summary>
/// A human approval before a node runs (e.g. before pushing a model): the orchestrator waits for the external
/// event <paramref name="EventName"/> (raised through the management API) for at most <paramref name="Timeout"/>.
/// If it does not arrive in time, or arrives with a rejection, the node does not run.
/// </summary>
/// <param name="EventName">The external event's name, e.g. <c>approve-push</c>.</param>
/// <param name="Timeout">How long to wait.</param>
public sealed record ApprovalGate(string EventName, TimeSpan Timeout);

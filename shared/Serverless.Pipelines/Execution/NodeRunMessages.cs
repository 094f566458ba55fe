using System.Text.Json.Serialization;
using Serverless.Metadata;

namespace Serverless.Pipelines;

/// <summary>
/// What the node runner needs to run one node: plain data, JSON-serializable, so it can be a durable
/// activity's input. Build it with <see cref="ForNode"/> from a validated graph.
/// </summary>
public sealed record NodeRunRequest
{
    /// <summary>The pipeline name.</summary>
    public required string PipelineName { get; init; }

    /// <summary>The run id (the orchestration instance id).</summary>
    public required string RunId { get; init; }

    /// <summary>The node id.</summary>
    public required string NodeId { get; init; }

    /// <summary>
    /// The execution id: a segment of the output paths and, with the pipeline and node, the execution's unique
    /// name in metadata. It must be the same for every attempt of the same activity (e.g. derived from the
    /// orchestration's deterministic <c>NewGuid</c>): a repeated request with a recorded outcome returns it
    /// without running again.
    /// </summary>
    public required string ExecutionId { get; init; }

    /// <summary>The component type.</summary>
    public required string Component { get; init; }

    /// <summary>Resolved parameters (from <see cref="PipelineNode.Parameters"/>: defaults applied, paths absolute).</summary>
    public IReadOnlyDictionary<string, MetadataValue> Parameters { get; init; } = MetadataMaps.Empty;

    /// <summary>Absolute user code paths.</summary>
    public IReadOnlyList<string> UserCode { get; init; } = [];

    /// <summary>Input channel -> the published artifact feeding it.</summary>
    public IReadOnlyDictionary<string, ArtifactRef> Inputs { get; init; } = new Dictionary<string, ArtifactRef>();

    /// <summary>Whether a cached result may be used.</summary>
    public bool EnableCache { get; init; } = true;

    /// <summary>
    /// Builds the request for <paramref name="nodeId"/>, taking each input from the outputs of the upstream
    /// node results in <paramref name="completed"/> (by node id).
    /// </summary>
    /// <exception cref="InvalidOperationException">An upstream node has no result, or lacks the output.</exception>
    public static NodeRunRequest ForNode(PipelineGraph graph, string nodeId, string runId, string executionId, IReadOnlyDictionary<string, NodeRunResult> completed)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(completed);
        ArgumentException.ThrowIfNullOrEmpty(runId);
        ArgumentException.ThrowIfNullOrEmpty(executionId);
        var node = graph.GetNode(nodeId);
        var inputs = new Dictionary<string, ArtifactRef>(StringComparer.Ordinal);
        foreach (var (channel, source) in node.Definition.Inputs)
        {
            if (!completed.TryGetValue(source.Node, out var upstream) || !upstream.Succeeded)
            {
                throw new InvalidOperationException($"Node '{nodeId}' input '{channel}' needs node '{source.Node}', which has no successful result.");
            }

            inputs[channel] = upstream.Outputs.TryGetValue(source.Output, out var artifact)
                ? artifact
                : throw new InvalidOperationException($"Node '{source.Node}' has no output '{source.Output}' for node '{nodeId}' input '{channel}'.");
        }

        return new NodeRunRequest
        {
            PipelineName = graph.Name,
            RunId = runId,
            NodeId = nodeId,
            ExecutionId = executionId,
            Component = node.Spec.Type,
            Parameters = node.Parameters,
            UserCode = node.UserCode,
            Inputs = inputs,
            EnableCache = node.Definition.EnableCache,
        };
    }
}

/// <summary>How a node run ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NodeRunStatus>))]
public enum NodeRunStatus
{
    /// <summary>The executor ran and its outputs are published and recorded.</summary>
    Complete,

    /// <summary>An earlier identical execution's outputs were reused; the executor did not run.</summary>
    Cached,

    /// <summary>The executor (or reading its inputs) failed; nothing was published.</summary>
    Failed,

    /// <summary>The run was canceled (see <see cref="IRunCancellation"/>) before or while the node ran; nothing was published.</summary>
    Canceled,
}

/// <summary>The outcome of one node run: JSON-serializable, the durable activity's output.</summary>
/// <param name="NodeId">The node.</param>
/// <param name="ExecutionId">The execution id from the request.</param>
/// <param name="Status">Complete, cached or failed.</param>
/// <param name="MetadataExecutionId">The execution's id in the metadata store.</param>
/// <param name="Outputs">Output channel -> published artifact (empty when failed).</param>
/// <param name="CacheKey">The cache key computed for the node.</param>
/// <param name="Error">The failure, when failed: exception type and message.</param>
/// <param name="CachedFromExecutionId">When cached: the metadata id of the execution whose outputs were reused.</param>
public sealed record NodeRunResult(
    string NodeId,
    string ExecutionId,
    NodeRunStatus Status,
    long MetadataExecutionId,
    IReadOnlyDictionary<string, ArtifactRef> Outputs,
    string CacheKey,
    string? Error = null,
    long? CachedFromExecutionId = null)
{
    /// <summary>True when the node's outputs are available (complete or cached).</summary>
    [JsonIgnore]
    public bool Succeeded => Status is NodeRunStatus.Complete or NodeRunStatus.Cached;

    /// <summary>Throws <see cref="NodeFailedException"/> when failed, so a durable activity fails and its retry policy applies.</summary>
    public NodeRunResult EnsureSucceeded() => Succeeded ? this : throw new NodeFailedException(this);
}

/// <summary>A node run failed; carries the result with the error.</summary>
public sealed class NodeFailedException(NodeRunResult result)
    : Exception($"Node '{result?.NodeId}' execution '{result?.ExecutionId}' failed: {result?.Error}")
{
    /// <summary>The failed result.</summary>
    public NodeRunResult Result { get; } = result ?? throw new ArgumentNullException(nameof(result));
}

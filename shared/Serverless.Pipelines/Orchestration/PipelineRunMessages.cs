using System.Text.Json.Serialization;
using Serverless.Metadata;

namespace Serverless.Pipelines.Orchestration;

/// <summary>
/// The input of the generic pipeline orchestrator: plain JSON, so a run is fully described by its history.
/// Run parameters are applied to <see cref="Pipeline"/> before the start (see <see cref="RunParameters"/>), so
/// the orchestration replays with exactly the values it started with.
/// </summary>
public sealed record PipelineRunInput
{
    /// <summary>The pipeline, parameters already applied.</summary>
    public required PipelineDefinition Pipeline { get; init; }

    /// <summary>The run id (the orchestration instance id and the <c>pipeline_run</c> context's name).</summary>
    public required string RunId { get; init; }

    /// <summary>When set, this node and everything downstream of it run again even if cached (<c>--from NODE</c>).</summary>
    public string? From { get; init; }

    /// <summary>What started the run (<c>cli</c>, <c>http</c>, <c>blob:NAME@ETAG</c>, <c>timer:SCHEDULE@TIME</c>), for status and listings.</summary>
    public string Trigger { get; init; } = "api";

    /// <summary>The run parameters as given (for display; already applied to <see cref="Pipeline"/>).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
}

/// <summary>A node's state in a run, as shown in the run's custom status.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NodeState>))]
public enum NodeState
{
    /// <summary>Not started yet.</summary>
    Pending,

    /// <summary>Waiting for its approval event.</summary>
    WaitingForApproval,

    /// <summary>Its activity is scheduled or running (a GPU job: a worker leased it).</summary>
    Running,

    /// <summary>An identical earlier execution's outputs were reused.</summary>
    Cached,

    /// <summary>Executed and published.</summary>
    Complete,

    /// <summary>Failed after its retries.</summary>
    Failed,

    /// <summary>Not run: an upstream node failed, or the approval was rejected or timed out.</summary>
    Skipped,

    /// <summary>Its approval was rejected.</summary>
    Rejected,

    /// <summary>Its approval did not arrive in time.</summary>
    TimedOut,

    /// <summary>A GPU job (<see cref="TrainingJobOrchestration"/>) is in the job queue and no worker has leased it yet
    /// (<see cref="NodeRunState.QueueLength"/> says how many jobs are queued). Added last: the enum is stored as text.</summary>
    WaitingForGpuWorker,
}

/// <summary>How a run ended (or that it is still going).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PipelineRunState>))]
public enum PipelineRunState
{
    /// <summary>Nodes are running or waiting.</summary>
    Running,

    /// <summary>Every node is complete or cached.</summary>
    Succeeded,

    /// <summary>A node failed; its downstream nodes were not started.</summary>
    Failed,

    /// <summary>An approval gate was rejected; the gated node and its downstream did not run.</summary>
    Rejected,

    /// <summary>An approval gate timed out; the gated node and its downstream did not run.</summary>
    ApprovalTimedOut,
}

/// <summary>One node's line in the run status.</summary>
public sealed record NodeRunState
{
    /// <summary>The node id.</summary>
    public required string Node { get; init; }

    /// <summary>The component type.</summary>
    public required string Component { get; init; }

    /// <summary>The state.</summary>
    public NodeState State { get; init; } = NodeState.Pending;

    /// <summary>The execution id (a segment of the node's artifact paths), once started.</summary>
    public string? ExecutionId { get; init; }

    /// <summary>When it started (replay-safe orchestration time).</summary>
    public DateTime? StartedAt { get; init; }

    /// <summary>How long it took, once finished.</summary>
    public double? DurationSeconds { get; init; }

    /// <summary>Output channel -> artifact URI in the blob store.</summary>
    public IReadOnlyDictionary<string, string> Artifacts { get; init; } = new Dictionary<string, string>();

    /// <summary>Output channel -> metadata artifact id (for <c>lineage</c>).</summary>
    public IReadOnlyDictionary<string, long> ArtifactIds { get; init; } = new Dictionary<string, long>();

    /// <summary>Why it failed or was skipped.</summary>
    public string? Error { get; init; }

    /// <summary>What the node is doing beyond its state, e.g. "waiting for a GPU worker (attempt 1 of 3; 2 job(s) in the
    /// queue)" or "training on host/pid"; null for plain activities.</summary>
    public string? Detail { get; init; }

    /// <summary>While <see cref="NodeState.WaitingForGpuWorker"/>: the job queue's approximate length at submission.</summary>
    public int? QueueLength { get; init; }

    /// <summary>While <see cref="NodeState.WaitingForApproval"/>: the token of this wait, which an approval or rejection must
    /// carry (<see cref="ApprovalDecision.Token"/>) to count; null otherwise.</summary>
    public string? ApprovalToken { get; init; }
}

/// <summary>The run's custom status while it runs, and its output when done.</summary>
public sealed record PipelineRunStatus
{
    /// <summary>The pipeline name.</summary>
    public required string Pipeline { get; init; }

    /// <summary>The run id.</summary>
    public required string RunId { get; init; }

    /// <summary>The run state.</summary>
    public PipelineRunState State { get; init; } = PipelineRunState.Running;

    /// <summary>A one-line summary: what failed and why, which approval was rejected, or what ran.</summary>
    public string Message { get; init; } = string.Empty;

    /// <summary>What started the run.</summary>
    public string Trigger { get; init; } = "api";

    /// <summary>The nodes in topological order.</summary>
    public IReadOnlyList<NodeRunState> Nodes { get; init; } = [];
}

/// <summary>The payload of an approval event: approve or reject, with an optional note.</summary>
/// <param name="Approved">True to let the gated node run.</param>
/// <param name="Comment">Who decided and why, shown in the status.</param>
/// <param name="Token">The <see cref="NodeRunState.ApprovalToken"/> of the wait it decides; a decision without the current
/// token is ignored (the approve route fills it in).</param>
public sealed record ApprovalDecision(bool Approved, string? Comment = null, string? Token = null);

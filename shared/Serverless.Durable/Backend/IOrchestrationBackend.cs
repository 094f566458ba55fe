using Serverless.Durable.History;

namespace Serverless.Durable.Backend;

/// <summary>
/// The storage port of the engine: durable queues of orchestration messages and activity work items,
/// instance state and history. Implementations: in-memory (tests), SQLite (embedded default), Azure Storage.
/// All pass one conformance suite.
/// <para>Contract: a work item is leased to one worker until its lock expires; completing an orchestration
/// work item commits the turn's new history, outbound messages and the deletion of the consumed messages
/// atomically, and only while the lock is still held (otherwise <see cref="WorkItemLockLostException"/>).</para>
/// </summary>
public interface IOrchestrationBackend : IAsyncDisposable
{
    /// <summary>Creates tables/queues if needed and checks the stored schema version.</summary>
    Task InitializeAsync(CancellationToken cancellation = default);

    // ---- client side ----

    /// <summary>Creates a new instance (status Pending) with its ExecutionStarted message. Fails with
    /// <see cref="InstanceAlreadyExistsException"/> if an instance with this id is pending, running or suspended;
    /// a finished one is replaced.</summary>
    Task CreateInstanceAsync(ExecutionStartedEvent started, CancellationToken cancellation = default);

    /// <summary>Sends a message (raise event, terminate, suspend, resume) to an existing instance.
    /// Returns false when the instance does not exist.</summary>
    Task<bool> SendMessageAsync(OrchestrationMessage message, CancellationToken cancellation = default);

    /// <summary>Reads an instance's state, or null if it does not exist.</summary>
    Task<OrchestrationState?> GetStateAsync(string instanceId, CancellationToken cancellation = default);

    /// <summary>Reads an instance's full history of its current execution.</summary>
    Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellation = default);

    /// <summary>Queries instances by filter, one page at a time.</summary>
    Task<OrchestrationQueryResult> QueryAsync(OrchestrationQuery query, CancellationToken cancellation = default);

    /// <summary>Deletes a finished instance and its history; returns the number purged (0 or 1).
    /// Instances that are not finished are not purged.</summary>
    Task<int> PurgeAsync(string instanceId, CancellationToken cancellation = default);

    /// <summary>Deletes finished instances matching the filter (created time range, statuses).</summary>
    Task<int> PurgeAsync(PurgeFilter filter, CancellationToken cancellation = default);

    // ---- worker side ----

    /// <summary>Leases up to <paramref name="maxCount"/> instances that have visible messages. Returns an
    /// empty list immediately when there is none.</summary>
    Task<IReadOnlyList<OrchestrationWorkItem>> LockNextOrchestrationWorkItemsAsync(int maxCount, TimeSpan lockTimeout, CancellationToken cancellation = default);

    /// <summary>Loads the history of a leased work item's current execution (lazily, so cached executors skip it).</summary>
    Task<IReadOnlyList<HistoryEvent>> LoadHistoryAsync(OrchestrationWorkItem workItem, CancellationToken cancellation = default);

    /// <summary>Commits an orchestration turn atomically and releases the lease. A result with no new events
    /// and no ContinueAsNew only deletes the consumed messages and releases the lease (the stored state is
    /// left as it is): that is how messages for finished instances are discarded.</summary>
    /// <returns>The activities leased to the caller per <paramref name="localLease"/> (empty when none was asked for).</returns>
    Task<IReadOnlyList<ActivityWorkItem>> CompleteOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, OrchestrationTurnResult result,
        LocalActivityLease? localLease = null, CancellationToken cancellation = default);

    /// <summary>Releases the lease without committing; messages become visible again after <paramref name="delay"/>.</summary>
    Task AbandonOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, TimeSpan delay, CancellationToken cancellation = default);

    /// <summary>Leases up to <paramref name="maxCount"/> activity work items of the given pools.</summary>
    Task<IReadOnlyList<ActivityWorkItem>> LockNextActivityWorkItemsAsync(IReadOnlyCollection<string> pools, int maxCount, TimeSpan lockTimeout, CancellationToken cancellation = default);

    /// <summary>Extends an activity's lease; returns false if the lease was lost.</summary>
    Task<bool> RenewActivityWorkItemLockAsync(ActivityWorkItem workItem, TimeSpan lockTimeout, CancellationToken cancellation = default);

    /// <summary>Deletes the activity work item and sends its result (TaskCompleted/TaskFailed) to the
    /// orchestration, atomically. A second completion of the same work item is ignored.</summary>
    Task CompleteActivityWorkItemAsync(ActivityWorkItem workItem, HistoryEvent result, CancellationToken cancellation = default);

    /// <summary>
    /// Completes an activity like <see cref="CompleteActivityWorkItemAsync"/> and, when it was the instance's last
    /// outstanding activity and the instance is not leased, leases the instance to the caller in the same commit
    /// (saving a write and a wake-up per step of a sequential orchestration). Backends that cannot do this return null.
    /// </summary>
    async Task<OrchestrationWorkItem?> CompleteActivityWorkItemAndLockAsync(ActivityWorkItem workItem, HistoryEvent result, TimeSpan lockTimeout,
        CancellationToken cancellation = default)
    {
        await CompleteActivityWorkItemAsync(workItem, result, cancellation).ConfigureAwait(false);
        return null;
    }

    /// <summary>Releases an activity's lease so that another worker can run it.</summary>
    Task AbandonActivityWorkItemAsync(ActivityWorkItem workItem, CancellationToken cancellation = default);

    /// <summary>The signal pulsed when this process creates work of the given kind; work created by other
    /// processes is found by polling.</summary>
    WorkSignal GetWorkSignal(WorkKind kind);

    /// <summary>Records that a worker serving <paramref name="pools"/> is alive (used to report pools no worker serves).</summary>
    Task HeartbeatAsync(string workerId, IReadOnlyCollection<string> pools, CancellationToken cancellation = default);

    /// <summary>The pools served by workers whose heartbeat is newer than <paramref name="since"/>.</summary>
    Task<IReadOnlySet<string>> GetLivePoolsAsync(DateTime since, CancellationToken cancellation = default);
}

/// <summary>
/// Asks the backend to lease, in the commit of a turn, up to <paramref name="MaxCount"/> of the turn's new
/// activities whose pool is in <paramref name="Pools"/> to the committing worker. In a sequential orchestration
/// this saves one write and one wake-up per activity; the work items are otherwise the same as leased ones.
/// </summary>
/// <param name="Pools">Pools the committing worker serves.</param>
/// <param name="MaxCount">Free activity slots the worker reserved.</param>
/// <param name="LockTimeout">Lease length.</param>
public sealed record LocalActivityLease(IReadOnlyCollection<string> Pools, int MaxCount, TimeSpan LockTimeout);

/// <summary>The two kinds of work a worker dispatches.</summary>
public enum WorkKind
{
    /// <summary>Orchestration turns.</summary>
    Orchestration,
    /// <summary>Activity executions.</summary>
    Activity,
}

/// <summary>A message for an orchestration instance (its event is appended to history when processed).</summary>
/// <param name="InstanceId">Target instance.</param>
/// <param name="Event">The event.</param>
/// <param name="VisibleAt">Not delivered before this time (timers, delayed starts); null = now.</param>
public sealed record OrchestrationMessage(string InstanceId, HistoryEvent Event, DateTime? VisibleAt = null);

/// <summary>An activity to run.</summary>
/// <param name="InstanceId">The orchestration that scheduled it.</param>
/// <param name="ExecutionId">That orchestration's execution id.</param>
/// <param name="Scheduled">The TaskScheduled event (name, input, pool, task id).</param>
public sealed record ActivityMessage(string InstanceId, string ExecutionId, TaskScheduledEvent Scheduled);

/// <summary>An orchestration turn to process: an instance leased with its new messages.</summary>
public sealed class OrchestrationWorkItem
{
    /// <summary>Instance id.</summary>
    public required string InstanceId { get; init; }
    /// <summary>Current execution id (null before the first turn).</summary>
    public string? ExecutionId { get; init; }
    /// <summary>The instance's status before this turn.</summary>
    public OrchestrationRuntimeStatus Status { get; init; }
    /// <summary>Number of history events stored so far (to validate cached executors).</summary>
    public int HistoryCount { get; init; }
    /// <summary>The new messages, in arrival order.</summary>
    public required IReadOnlyList<OrchestrationMessage> Messages { get; init; }
    /// <summary>Backend-specific data (lease token, message ids).</summary>
    public object? BackendState { get; init; }
    /// <summary>When the lease expires.</summary>
    public DateTime LockedUntil { get; set; }
}

/// <summary>An activity execution leased to this worker.</summary>
public sealed class ActivityWorkItem
{
    /// <summary>The activity message.</summary>
    public required ActivityMessage Message { get; init; }
    /// <summary>Backend-specific data (row id, lease token).</summary>
    public object? BackendState { get; init; }
    /// <summary>How many times this work item was leased before (0 on first delivery).</summary>
    public int DequeueCount { get; init; }
    /// <summary>When the lease expires.</summary>
    public DateTime LockedUntil { get; set; }
}

/// <summary>The outcome of an orchestration turn, committed atomically by the backend.</summary>
public sealed class OrchestrationTurnResult
{
    /// <summary>The execution id after this turn.</summary>
    public required string ExecutionId { get; init; }
    /// <summary>Events to append to the history (the consumed messages' events and the new actions).</summary>
    public required IReadOnlyList<HistoryEvent> NewEvents { get; init; }
    /// <summary>Activities to enqueue.</summary>
    public required IReadOnlyList<ActivityMessage> Activities { get; init; }
    /// <summary>Messages to instances: timers to self, events, sub-orchestration starts (ExecutionStarted to a
    /// new instance id creates it), completions to a parent.</summary>
    public required IReadOnlyList<OrchestrationMessage> Messages { get; init; }
    /// <summary>The instance's status after the turn.</summary>
    public required OrchestrationRuntimeStatus Status { get; init; }
    /// <summary>The orchestrator's name (known from ExecutionStarted).</summary>
    public required string Name { get; init; }
    /// <summary>The serialized input of the execution.</summary>
    public string? Input { get; init; }
    /// <summary>Serialized output when finished.</summary>
    public string? Output { get; init; }
    /// <summary>Serialized custom status.</summary>
    public string? CustomStatus { get; init; }
    /// <summary>Failure details when failed.</summary>
    public TaskFailureDetails? FailureDetails { get; init; }
    /// <summary>Set when the orchestration continued as new: the history is reset and this ExecutionStarted
    /// (plus <see cref="CarryOverEvents"/>) is enqueued for the new execution.</summary>
    public ExecutionStartedEvent? ContinuedAsNew { get; init; }
    /// <summary>Unprocessed external events carried into the new execution.</summary>
    public IReadOnlyList<HistoryEvent> CarryOverEvents { get; init; } = [];
    /// <summary>The parent instance, stored with the instance.</summary>
    public ParentInstanceInfo? Parent { get; init; }
}

/// <summary>The stored state of an instance, as clients see it.</summary>
public sealed record OrchestrationState
{
    /// <summary>Instance id.</summary>
    public required string InstanceId { get; init; }
    /// <summary>Orchestrator name.</summary>
    public required string Name { get; init; }
    /// <summary>Current execution id.</summary>
    public string? ExecutionId { get; init; }
    /// <summary>Status.</summary>
    public OrchestrationRuntimeStatus Status { get; init; }
    /// <summary>Created (UTC).</summary>
    public DateTime CreatedAt { get; init; }
    /// <summary>Last updated (UTC).</summary>
    public DateTime LastUpdatedAt { get; init; }
    /// <summary>Serialized input.</summary>
    public string? Input { get; init; }
    /// <summary>Serialized output.</summary>
    public string? Output { get; init; }
    /// <summary>Serialized custom status.</summary>
    public string? CustomStatus { get; init; }
    /// <summary>Failure details.</summary>
    public TaskFailureDetails? FailureDetails { get; init; }
    /// <summary>Parent instance id for sub-orchestrations.</summary>
    public string? ParentInstanceId { get; init; }
}

/// <summary>A filter for instance queries (all conditions combine with AND).</summary>
public sealed record OrchestrationQuery
{
    /// <summary>Only these statuses (null or empty = any).</summary>
    public IReadOnlyCollection<OrchestrationRuntimeStatus>? Statuses { get; init; }
    /// <summary>Created at or after.</summary>
    public DateTime? CreatedFrom { get; init; }
    /// <summary>Created at or before.</summary>
    public DateTime? CreatedTo { get; init; }
    /// <summary>Instance id prefix.</summary>
    public string? InstanceIdPrefix { get; init; }
    /// <summary>Page size (default 100).</summary>
    public int PageSize { get; init; } = 100;
    /// <summary>Token from the previous page.</summary>
    public string? ContinuationToken { get; init; }
    /// <summary>Whether to return inputs and outputs.</summary>
    public bool FetchInputsAndOutputs { get; init; }
}

/// <summary>One page of a query.</summary>
/// <param name="Instances">The instances, ordered by instance id.</param>
/// <param name="ContinuationToken">Token for the next page, or null at the end.</param>
public sealed record OrchestrationQueryResult(IReadOnlyList<OrchestrationState> Instances, string? ContinuationToken);

/// <summary>Which finished instances to purge.</summary>
public sealed record PurgeFilter
{
    /// <summary>Created at or after.</summary>
    public DateTime? CreatedFrom { get; init; }
    /// <summary>Created at or before.</summary>
    public DateTime? CreatedTo { get; init; }
    /// <summary>Only these statuses (terminal ones only; default all terminal).</summary>
    public IReadOnlyCollection<OrchestrationRuntimeStatus>? Statuses { get; init; }
}

/// <summary>Thrown when scheduling an instance id that is already pending or running.</summary>
public sealed class InstanceAlreadyExistsException(string instanceId)
    : InvalidOperationException($"An orchestration instance with id '{instanceId}' already exists and is not finished.")
{
    /// <summary>The instance id.</summary>
    public string InstanceId { get; } = instanceId;
}

/// <summary>Thrown when a turn is committed after its lease expired and another worker may own the instance.</summary>
public sealed class WorkItemLockLostException(string instanceId)
    : Exception($"The lease on orchestration instance '{instanceId}' was lost before its turn was committed; the turn is discarded and will be replayed.");

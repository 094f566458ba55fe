namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// Settings of <see cref="SqliteOrchestrationService"/>. The defaults suit one machine with a few worker processes
/// sharing one file; every default is written on its property and in the library README.
/// </summary>
public sealed class SqliteOrchestrationServiceSettings
{
    /// <summary>
    /// The database file (created with its folder when missing). Several task hubs may share one file; several processes
    /// may open the same file at once. Must be on a local file system: SQLite's WAL mode needs shared memory between the
    /// processes, which network file systems do not provide.
    /// </summary>
    public required string DatabasePath { get; init; }

    /// <summary>
    /// The task hub: instances, messages and activity tasks of one hub are invisible to another hub in the same file.
    /// Default <c>"default"</c>.
    /// </summary>
    public string TaskHubName { get; init; } = "default";

    /// <summary>
    /// How long a locked orchestration or activity work item stays locked without renewal. A worker process that dies
    /// leaves its work locked this long before another process takes it over; a live process renews its locks every
    /// <see cref="LockRenewalInterval"/>. Default 30 seconds.
    /// </summary>
    public TimeSpan WorkItemLockTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often a running service extends every lock it holds (work items being processed, idle extended sessions,
    /// activities fetched ahead). Must be shorter than <see cref="WorkItemLockTimeout"/>. Default: a third of it.
    /// </summary>
    public TimeSpan? LockRenewalInterval { get; init; }

    /// <summary>
    /// How often the service looks for work written by other processes (it checks SQLite's <c>data_version</c>, which
    /// costs almost nothing when nothing changed). Work created in this process wakes the dispatchers at once, without
    /// waiting for this interval. Default 100 ms.
    /// </summary>
    public TimeSpan PollingInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The most orchestration work items processed at once by this service (DTFx's
    /// <c>MaxConcurrentTaskOrchestrationWorkItems</c>; DTFx lets half of them hold extended sessions).
    /// Default 10 x processor count, as Durable Functions' <c>maxConcurrentOrchestratorFunctions</c>.
    /// </summary>
    public int MaxConcurrentOrchestrationWorkItems { get; init; } = 10 * Environment.ProcessorCount;

    /// <summary>
    /// The most activities run at once by this service; also the most activity tasks it locks ahead of time.
    /// Default 10 x processor count, as Durable Functions' <c>maxConcurrentActivityFunctions</c>.
    /// </summary>
    public int MaxConcurrentActivityWorkItems { get; init; } = 10 * Environment.ProcessorCount;

    /// <summary>
    /// Extended sessions: after a turn, the orchestration stays loaded and locked, and its next messages resume the
    /// live orchestrator instead of replaying its history. On by default (unlike Durable Functions' default), because
    /// without it every step of an orchestration replays its whole history: a 2,000-step sequence spends most of its
    /// time replaying. See the README's figures.
    /// </summary>
    public bool ExtendedSessionsEnabled { get; init; } = true;

    /// <summary>
    /// How long an extended session waits for a new message before it unloads the orchestration and releases its lock.
    /// Default 30 seconds, as Durable Functions' <c>extendedSessionIdleTimeoutInSeconds</c>.
    /// </summary>
    public TimeSpan ExtendedSessionIdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Durability. False (default): <c>synchronous=NORMAL</c> in WAL mode: a committed turn survives the crash of any
    /// process, but a power loss or OS crash can lose the last commits before the next WAL checkpoint (the database stays
    /// consistent). True: <c>synchronous=FULL</c>, an fsync per commit, so a commit survives power loss too, at the cost
    /// measured in the README.
    /// </summary>
    public bool FullSync { get; init; }

    /// <summary>Checks every setting and throws an <see cref="ArgumentException"/> naming the first bad one.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(DatabasePath))
            throw new ArgumentException($"{nameof(DatabasePath)} must name a file.", nameof(DatabasePath));
        if (string.IsNullOrWhiteSpace(TaskHubName))
            throw new ArgumentException($"{nameof(TaskHubName)} must not be empty.", nameof(TaskHubName));
        if (WorkItemLockTimeout < TimeSpan.FromMilliseconds(100))
            throw new ArgumentException($"{nameof(WorkItemLockTimeout)} must be at least 100 ms (it is {WorkItemLockTimeout}).", nameof(WorkItemLockTimeout));
        if (EffectiveRenewalInterval <= TimeSpan.Zero || EffectiveRenewalInterval >= WorkItemLockTimeout)
            throw new ArgumentException($"{nameof(LockRenewalInterval)} must be positive and shorter than {nameof(WorkItemLockTimeout)} ({EffectiveRenewalInterval} vs {WorkItemLockTimeout}).", nameof(LockRenewalInterval));
        if (PollingInterval <= TimeSpan.Zero)
            throw new ArgumentException($"{nameof(PollingInterval)} must be positive (it is {PollingInterval}).", nameof(PollingInterval));
        if (MaxConcurrentOrchestrationWorkItems < 1)
            throw new ArgumentException($"{nameof(MaxConcurrentOrchestrationWorkItems)} must be at least 1 (it is {MaxConcurrentOrchestrationWorkItems}).", nameof(MaxConcurrentOrchestrationWorkItems));
        if (MaxConcurrentActivityWorkItems < 1)
            throw new ArgumentException($"{nameof(MaxConcurrentActivityWorkItems)} must be at least 1 (it is {MaxConcurrentActivityWorkItems}).", nameof(MaxConcurrentActivityWorkItems));
        if (ExtendedSessionIdleTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"{nameof(ExtendedSessionIdleTimeout)} must be positive (it is {ExtendedSessionIdleTimeout}).", nameof(ExtendedSessionIdleTimeout));
    }

    /// <summary>The renewal interval in force.</summary>
    internal TimeSpan EffectiveRenewalInterval => LockRenewalInterval ?? WorkItemLockTimeout / 3;
}

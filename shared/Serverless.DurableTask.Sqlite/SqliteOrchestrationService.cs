using System.Collections.Concurrent;
using DurableTask.Core;
using DurableTask.Core.Query;

namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// The embedded storage provider of the Durable Task Framework: one SQLite file in WAL mode holds a task hub's
/// instances, histories, messages and activity tasks. It implements DTFx's worker-side <see cref="IOrchestrationService"/>
/// (for <c>TaskHubWorker</c>) and the client-side <see cref="IOrchestrationServiceClient"/>,
/// <see cref="IOrchestrationServiceQueryClient"/> and <see cref="IOrchestrationServicePurgeClient"/> (for
/// <c>TaskHubClient</c> and a <c>DurableTaskClient</c> built over them), so DTFx runs on it unchanged.
/// </summary>
/// <remarks>
/// Several processes may use one file: work items are locked with an expiry that the owning service renews, so the work
/// of a process that dies is taken over after <see cref="SqliteOrchestrationServiceSettings.WorkItemLockTimeout"/>.
/// An orchestration turn commits in one transaction (history, new messages, timers, activity tasks, instance state,
/// consumed messages). Activities run at least once: a worker that dies after running an activity but before
/// committing its result leaves the task to run again. See the library README for the schema and the figures.
/// </remarks>
public sealed partial class SqliteOrchestrationService :
    IOrchestrationService, IOrchestrationServiceClient, IOrchestrationServiceQueryClient, IOrchestrationServicePurgeClient,
    IAsyncDisposable, IDisposable
{
    private const int StatusPending = (int)OrchestrationStatus.Pending;

    private readonly SqliteOrchestrationServiceSettings _settings;
    private readonly TimeProvider _time;
    private readonly string _hub;
    private readonly string _owner = Guid.NewGuid().ToString("N");
    private readonly Lock _lifecycle = new();
    private readonly ConcurrentDictionary<string, SqliteOrchestrationWorkItem> _lockedInstances = new(StringComparer.Ordinal);
    private SqliteStore? _store;
    private HubSignals? _signals;
    private CancellationTokenSource _stopping = new();
    private CancellationTokenSource _sessionsEnding = new();
    private Task? _renewalLoop;
    private bool _disposed;

    /// <summary>Creates the service; the file is opened (and checked) by the first call that needs it.</summary>
    /// <param name="settings">The file, task hub and tuning; see <see cref="SqliteOrchestrationServiceSettings"/>.</param>
    /// <param name="timeProvider">The clock for lock expiry and message visibility (tests inject a fake one); DTFx itself
    /// timestamps timers with the system clock, so production code passes nothing.</param>
    public SqliteOrchestrationService(SqliteOrchestrationServiceSettings settings, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _settings = settings;
        _hub = settings.TaskHubName;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The settings in force.</summary>
    public SqliteOrchestrationServiceSettings Settings => _settings;

    private long NowTicks => _time.GetUtcNow().UtcTicks;

    /// <summary>Opens (or joins) the file's store; a bad file throws <see cref="SqliteDatabaseFileException"/> here.</summary>
    private SqliteStore Store
    {
        get
        {
            var store = _store;
            if (store != null) return store;
            lock (_lifecycle)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_store == null)
                {
                    _store = SqliteStore.Acquire(_settings.DatabasePath, _settings.FullSync, _settings.PollingInterval);
                    _signals = _store.Hub(_hub);
                }
                return _store;
            }
        }
    }

    private HubSignals Signals
    {
        get
        {
            _ = Store;
            return _signals!;
        }
    }

    // ---------------- IOrchestrationService: lifecycle and tuning ----------------

    /// <inheritdoc/>
    public int TaskOrchestrationDispatcherCount => 1;

    /// <inheritdoc/>
    public int MaxConcurrentTaskOrchestrationWorkItems => _settings.MaxConcurrentOrchestrationWorkItems;

    /// <inheritdoc/>
    public int TaskActivityDispatcherCount => 1;

    /// <inheritdoc/>
    public int MaxConcurrentTaskActivityWorkItems => _settings.MaxConcurrentActivityWorkItems;

    /// <summary>External events not yet processed when an orchestration continues as new are carried over to the new
    /// execution (as the Azure Storage and SQL Server providers do).</summary>
    public BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => BehaviorOnContinueAsNew.Carryover;

    /// <summary>SQLite has no message-size or batch limit worth splitting a turn for.</summary>
    public bool IsMaxMessageCountExceeded(int currentMessageCount, OrchestrationRuntimeState runtimeState) => false;

    /// <summary>
    /// DTFx delays its whole fetch loop by this many seconds after a failed fetch. A fetch fails here only when the file
    /// is unusable (disk full, I/O error, locked by another process beyond the 30 s busy timeout): 1 second keeps such a
    /// failure from spinning without stalling recovery. Cancellation during shutdown costs nothing.
    /// </summary>
    public int GetDelayInSecondsAfterOnFetchException(Exception exception) =>
        exception is OperationCanceledException or ObjectDisposedException ? 0 : 1;

    /// <summary>
    /// DTFx applies this delay to every later fetch of the dispatcher (until 5 successes), not just to the failing
    /// instance. Processing failures here are specific to one instance (a lost lock, an orchestrator that throws inside
    /// middleware), so the provider backs off that instance instead (abandoned work becomes visible again after a
    /// delay) and returns 0. DTFx's own fixed 10 s backoff for an unregistered orchestrator or activity name
    /// (<c>TypeMissingException</c>, WorkItemDispatcher.BackOffIntervalOnInvalidOperationSecs) cannot be changed by a
    /// provider.
    /// </summary>
    public int GetDelayInSecondsAfterOnProcessException(Exception exception) => 0;

    /// <inheritdoc/>
    public Task CreateAsync() => CreateAsync(recreateInstanceStore: true);

    /// <summary>Creates the schema; with <paramref name="recreateInstanceStore"/>, first deletes everything of this task hub.</summary>
    public async Task CreateAsync(bool recreateInstanceStore)
    {
        if (recreateInstanceStore) await DeleteAsync(true).ConfigureAwait(false);
        _ = Store;
    }

    /// <summary>Opens the file, checks it and creates the schema if missing.</summary>
    public Task CreateIfNotExistsAsync()
    {
        _ = Store;
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task DeleteAsync() => DeleteAsync(true);

    /// <summary>Deletes every instance, history, message and task of this task hub (other hubs in the file stay).</summary>
    public Task DeleteAsync(bool deleteInstanceStore) =>
        Store.WriteAsync(c =>
        {
            foreach (var table in new[] { "history", "messages", "tasks", "payloads", "instances" })
                c.Execute($"DELETE FROM {table} WHERE hub = @p0", _hub);
            return 0;
        });

    /// <summary>Opens the file and starts renewing the locks this service will hold.</summary>
    public Task StartAsync()
    {
        _ = Store;
        lock (_lifecycle)
        {
            if (_renewalLoop != null) return Task.CompletedTask;
            if (_stopping.IsCancellationRequested)
            {
                _stopping.Dispose();
                _stopping = new CancellationTokenSource();
            }
            if (_sessionsEnding.IsCancellationRequested)
            {
                _sessionsEnding.Dispose();
                _sessionsEnding = new CancellationTokenSource();
            }
            var token = _stopping.Token;
            _renewalLoop = Task.Run(() => RenewLocksLoopAsync(token), CancellationToken.None);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task StopAsync() => StopAsync(false);

    /// <summary>
    /// Ends the extended sessions, unlocks the activity tasks fetched ahead and not started, and stops renewing locks.
    /// Work items still in flight keep their locks until they expire (a later process takes them over).
    /// </summary>
    public async Task StopAsync(bool isForced)
    {
        Task? loop;
        lock (_lifecycle)
        {
            loop = _renewalLoop;
            _renewalLoop = null;
            _stopping.Cancel();
            _sessionsEnding.Cancel();
        }
        if (loop != null) await loop.ConfigureAwait(false);
        if (_store == null) return;
        await ReleaseFetchedActivitiesAsync().ConfigureAwait(false);
        await ReleaseSessionLocksAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Gives back the locks of extended sessions, so that the next worker does not wait for them to expire. Idle sessions
    /// are released here; a session in the middle of a turn gets up to a second to commit and be released by DTFx.
    /// </summary>
    private async Task ReleaseSessionLocksAsync()
    {
        var deadline = Environment.TickCount64 + 1000;
        while (!_lockedInstances.IsEmpty && Environment.TickCount64 < deadline)
        {
            var idle = new List<SqliteOrchestrationWorkItem>();
            foreach (var item in _lockedInstances.Values)
            {
                if (!item.InSessionWait || !item.LockHeld) continue;
                item.LockHeld = false; // the waiting session returns null, and DTFx's release finds nothing to do
                Unregister(item);
                idle.Add(item);
            }
            if (idle.Count > 0)
            {
                var signals = Signals;
                await Store.WriteAsync(c =>
                {
                    foreach (var item in idle) ReleaseInstance(c, item.InstanceId, item.LockToken, 0);
                    return 0;
                }, _ => signals.Orchestrations.Pulse()).ConfigureAwait(false);
            }
            if (!_lockedInstances.IsEmpty) await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the service and closes the file (the last service of the process on a file closes it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        await StopAsync(true).ConfigureAwait(false);
        SqliteStore? store;
        lock (_lifecycle)
        {
            _disposed = true;
            store = _store;
            _store = null;
        }
        store?.Release();
        _stopping.Dispose();
        _sessionsEnding.Dispose();
    }

    /// <summary>Synchronous <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Extends every lock this service holds until the service stops: the instances it has locked (turns in progress and
    /// idle extended sessions) and the activity tasks it has fetched or is running, each by primary key and token.
    /// </summary>
    private async Task RenewLocksLoopAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_settings.EffectiveRenewalInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                var until = NowTicks + _settings.WorkItemLockTimeout.Ticks;
                var instances = _lockedInstances.Values.Where(i => i.LockHeld).ToList();
                var tasks = _heldTasks.Values.ToList();
                if (instances.Count == 0 && tasks.Count == 0) continue;
                try
                {
                    var lost = await Store.WriteAsync(c =>
                    {
                        var lostInstances = new List<SqliteOrchestrationWorkItem>();
                        foreach (var item in instances)
                        {
                            if (c.Execute("UPDATE instances SET lock_expires = @p0 WHERE hub = @p1 AND instance_id = @p2 AND lock_token = @p3",
                                    until, _hub, item.InstanceId, item.LockToken) == 0)
                                lostInstances.Add(item);
                        }
                        foreach (var task in tasks)
                            c.Execute("UPDATE tasks SET lock_expires = @p0 WHERE id = @p1 AND lock_token = @p2", until, task.RowId, task.LockToken);
                        return lostInstances;
                    }).ConfigureAwait(false);
                    foreach (var item in lost)
                    {
                        // Taken over by another worker after our lock expired: an idle session ends now; a turn in
                        // progress will fail its commit.
                        item.LockHeld = false;
                        item.SqliteSession?.Inbox.Signal.Pulse();
                    }
                }
                catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or ObjectDisposedException)
                {
                    // The next tick retries; a lock that expires meanwhile is detected by the commit that needs it.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// What work items report as <c>LockedUntilUtc</c>. The service renews every lock it holds itself (every
    /// <see cref="SqliteOrchestrationServiceSettings.LockRenewalInterval"/>), so DTFx need not: for a work item locked
    /// "forever", DTFx starts no renewal task of its own, whose cancellation at the end of every turn and every activity
    /// costs a thrown TaskCanceledException (7% of the CPU of a HelloSequence5 run, measured). The real expiry is in the
    /// database.
    /// </summary>
    private static readonly DateTime LockedByService = DateTime.MaxValue;

    private static bool IsTerminal(OrchestrationStatus status) =>
        status is OrchestrationStatus.Completed or OrchestrationStatus.Failed or OrchestrationStatus.Terminated or OrchestrationStatus.Canceled;

    private static bool IsTerminal(long status) => IsTerminal((OrchestrationStatus)status);

    private static long NextToken() => Random.Shared.NextInt64(1, long.MaxValue);

    private static long Ticks(DateTime t) => t.Kind switch
    {
        DateTimeKind.Local => t.ToUniversalTime().Ticks,
        _ => t.Ticks,
    };
}

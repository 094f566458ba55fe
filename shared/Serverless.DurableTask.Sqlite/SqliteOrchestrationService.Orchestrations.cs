using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using Connection = Serverless.DurableTask.Sqlite.SqliteStore.Connection;

namespace Serverless.DurableTask.Sqlite;

// The orchestration side of IOrchestrationService: locking an instance that has visible messages, committing a turn,
// extended sessions, renewal, abandon and release.
public sealed partial class SqliteOrchestrationService
{
    /// <summary>The longest a waiting dispatcher or session sleeps without looking at the database.</summary>
    private TimeSpan MaxIdleWait => _settings.PollingInterval * 10;

    /// <summary>How long an abandoned orchestration stays invisible before it is retried.</summary>
    private static readonly TimeSpan AbandonedOrchestrationDelay = TimeSpan.FromSeconds(1);

    private const string LockInstanceSql = """
        UPDATE instances SET lock_owner = @p3, lock_token = @p4, lock_expires = @p5
        WHERE rowid = (
            SELECT rowid FROM instances
            WHERE hub = @p0 AND ready_at IS NOT NULL AND ready_at <= @p1 AND lock_expires <= @p1
              AND (status <> @p2 OR scheduled_start IS NULL OR scheduled_start <= @p1)
            ORDER BY ready_at LIMIT 1)
        RETURNING instance_id, status, execution_id
        """;

    private const string FirstReadySql = """
        SELECT 1 FROM instances
        WHERE hub = @p0 AND ready_at IS NOT NULL AND ready_at <= @p1 AND lock_expires <= @p1
          AND (status <> @p2 OR scheduled_start IS NULL OR scheduled_start <= @p1)
        ORDER BY ready_at LIMIT 1
        """;

    // Only when nothing is due: when the earliest ready instance can be locked (its messages visible, its lock expired,
    // its scheduled start reached).
    private const string NextReadySql = """
        SELECT min(max(ready_at, lock_expires, CASE WHEN status = @p2 THEN ifnull(scheduled_start, 0) ELSE 0 END))
        FROM instances WHERE hub = @p0 AND ready_at IS NOT NULL
        """;

    /// <summary>
    /// Waits up to <paramref name="receiveTimeout"/> for an instance with visible messages, locks it and returns its
    /// history and messages. Work committed in this process wakes the wait at once; timers wake it when they fall due;
    /// other processes' work is noticed within the polling interval.
    /// </summary>
    public async Task<TaskOrchestrationWorkItem?> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        var signals = Signals;
        // DTFx cancels this token only when its dispatcher stops: end idle sessions then, so that the dispatcher's
        // graceful stop (which waits for every work item, sessions included) does not wait for their idle timeout.
        using var stopRegistration = cancellationToken.Register(static s => ((SqliteOrchestrationService)s!).EndSessions(), this);
        var deadline = new Deadline(receiveTimeout);
        var signal = signals.Orchestrations;
        while (!cancellationToken.IsCancellationRequested)
        {
            // Look in the file only if something was announced since the last empty look, a timer fell due, or the
            // look is old (a missed announcement costs at most MaxIdleWait).
            var version = signal.Version;
            var empty = _orchestrationsEmpty;
            if (version != empty.Version || NowTicks >= empty.NextDue || Environment.TickCount64 - empty.Tick >= (long)MaxIdleWait.TotalMilliseconds)
            {
                var (item, nextDue, raced) = await TryLockOrchestrationAsync().ConfigureAwait(false);
                if (item != null) return item;
                if (raced) continue;
                _orchestrationsEmpty = empty = new EmptyLook(version, Environment.TickCount64, nextDue ?? long.MaxValue);
            }
            var wait = deadline.Remaining;
            if (wait <= TimeSpan.Zero) return null;
            if (wait > MaxIdleWait) wait = MaxIdleWait;
            if (empty.NextDue != long.MaxValue)
            {
                var untilDue = TimeSpan.FromTicks(empty.NextDue - NowTicks);
                if (untilDue < wait) wait = untilDue < TimeSpan.Zero ? TimeSpan.Zero : untilDue;
            }
            if (wait > TimeSpan.Zero) await signal.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
        }
        return null;
    }

    /// <summary>The last look that found nothing: the signal version before it, when, and the next due time it saw.</summary>
    private readonly record struct EmptyLook(long Version, long Tick, long NextDue);

    private EmptyLook _orchestrationsEmpty = new(-1, 0, 0);

    private void EndSessions()
    {
        try
        {
            _sessionsEnding.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>One attempt: a read that finds whether an instance is due (and if none, when one will be), then the locking write.</summary>
    private async Task<(SqliteOrchestrationWorkItem? Item, long? NextDue, bool Raced)> TryLockOrchestrationAsync()
    {
        var store = Store;
        while (true)
        {
            var now = NowTicks;
            var nextDue = store.Read(c => c.Scalar(FirstReadySql, _hub, now, StatusPending) != null
                ? (long?)null
                : c.Scalar(NextReadySql, _hub, now, StatusPending) as long? ?? long.MaxValue);
            if (nextDue is { } due) return (null, due == long.MaxValue ? null : due, false);
            var token = NextToken();
            var until = now + _settings.WorkItemLockTimeout.Ticks;
            var locked = await store.WriteAsync(c => LockInstance(c, now, token, until)).ConfigureAwait(false);
            if (locked is not { } rows) return (null, null, true); // another process was faster
            if (rows.Discarded) continue;
            var (instanceId, status, rowExecutionId) = (rows.InstanceId, rows.Status, rows.ExecutionId);
            if (_lockedInstances.TryGetValue(instanceId, out var mine) && mine.LockHeld)
            {
                mine.LockToken = token; // our own lock had expired: the work item in progress keeps the instance
                continue;
            }
            // Deserialized after the commit, so that other writers do not wait for it.
            var messageIds = rows.Messages.Select(m => m.Id).ToList();
            var messages = rows.Messages.Select(m => DtfxJson.DeserializeMessage(m.Json)).ToList();
            var history = rows.History.Select(DtfxJson.DeserializeEvent).ToList();
            var runtimeState = new OrchestrationRuntimeState(history);
            var item = new SqliteOrchestrationWorkItem
            {
                InstanceId = instanceId,
                OrchestrationRuntimeState = runtimeState,
                LockedUntilUtc = LockedByService,
                NewMessages = messages,
                LockToken = token,
                MessageIds = messageIds,
                PersistedEvents = history.Count,
                RowExecutionId = rowExecutionId,
                RowStatus = (OrchestrationStatus)status,
                PersistedExecutionId = runtimeState.ExecutionStartedEvent != null ? runtimeState.OrchestrationInstance?.ExecutionId : null,
            };
            if (_settings.ExtendedSessionsEnabled)
            {
                var session = new SqliteOrchestrationSession(this, item, Signals.RegisterSession(instanceId));
                foreach (var id in messageIds) item.SessionDelivered.Add(id);
                item.SqliteSession = session;
                item.Session = session;
            }
            _lockedInstances[instanceId] = item;
            return (item, null, false);
        }
    }

    /// <summary>An instance just locked, with its visible messages and its history as stored (not yet deserialized).</summary>
    private sealed record LockedRows(string InstanceId, long Status, string? ExecutionId, List<(long Id, string Json)> Messages, List<string> History, bool Discarded);

    /// <summary>
    /// Locks the earliest ready instance and reads its messages and history in the same transaction: the writer's page
    /// cache holds them (a reader connection re-reads every page written since its last read). Messages for a finished
    /// instance (late activity results, events raised after the end) are deleted and the lock released at once: DTFx
    /// would only drop them one by one.
    /// </summary>
    private LockedRows? LockInstance(Connection c, long now, long token, long until)
    {
        string instanceId;
        long status;
        string? executionId;
        using (var r = c.Query(LockInstanceSql, _hub, now, StatusPending, _owner, token, until))
        {
            if (!r.Read()) return null;
            (instanceId, status, executionId) = (r.GetString(0), r.GetInt64(1), r.IsDBNull(2) ? null : r.GetString(2));
        }
        var messages = new List<(long, string)>();
        using (var r = c.Query("SELECT id, data FROM messages WHERE hub = @p0 AND instance_id = @p1 AND visible_at <= @p2 ORDER BY id", _hub, instanceId, now))
        {
            while (r.Read()) messages.Add((r.GetInt64(0), r.GetString(1)));
        }
        if (IsTerminal(status) || messages.Count == 0)
        {
            foreach (var (id, _) in messages) c.Execute("DELETE FROM messages WHERE id = @p0", id);
            ReleaseInstance(c, instanceId, token, 0);
            return new LockedRows(instanceId, status, executionId, [], [], Discarded: true);
        }
        var history = new List<string>();
        using (var r = c.Query("SELECT data FROM history WHERE hub = @p0 AND instance_id = @p1 ORDER BY seq", _hub, instanceId))
        {
            while (r.Read()) history.Add(r.GetString(0));
        }
        return new LockedRows(instanceId, status, executionId, messages, history, Discarded: false);
    }

    private static void DeleteMessages(Connection c, List<long> ids)
    {
        foreach (var id in ids) c.Execute("DELETE FROM messages WHERE id = @p0", id);
    }

    /// <summary>Unlocks an instance we hold (token check) and recomputes its ready time; false if the lock was not ours.</summary>
    private bool ReleaseInstance(Connection c, string instanceId, long token, long retryAt) =>
        c.Execute("""
            UPDATE instances SET lock_owner = NULL, lock_token = NULL, lock_expires = @p3,
                ready_at = (SELECT min(visible_at) FROM messages m WHERE m.hub = @p0 AND m.instance_id = @p1)
            WHERE hub = @p0 AND instance_id = @p1 AND lock_token = @p2
            """, _hub, instanceId, token, retryAt) > 0;

    /// <summary>Extends the lock of one work item (DTFx calls this every few seconds during a long turn).</summary>
    public async Task RenewTaskOrchestrationWorkItemLockAsync(TaskOrchestrationWorkItem workItem)
    {
        var item = (SqliteOrchestrationWorkItem)workItem;
        var until = NowTicks + _settings.WorkItemLockTimeout.Ticks;
        var renewed = await Store.WriteAsync(c =>
            c.Execute("UPDATE instances SET lock_expires = @p3 WHERE hub = @p0 AND instance_id = @p1 AND lock_token = @p2", _hub, item.InstanceId, item.LockToken, until) > 0)
            .ConfigureAwait(false);
        if (!renewed)
        {
            item.LockHeld = false;
            throw new SessionAbortedException($"The lock on orchestration instance '{item.InstanceId}' was lost (it expired and another worker took it).");
        }
    }

    /// <summary>
    /// Commits a turn in one transaction: the consumed messages are deleted, the new history appended (or, after
    /// ContinueAsNew, the history replaced), activity tasks, timers and messages to other instances inserted, and the
    /// instance row updated. The lock is kept when DTFx continues an extended session, and released otherwise. A lock
    /// lost meanwhile aborts the commit with <see cref="SessionAbortedException"/> (DTFx then abandons the work item).
    /// </summary>
    public async Task CompleteTaskOrchestrationWorkItemAsync(
        TaskOrchestrationWorkItem workItem,
        OrchestrationRuntimeState newOrchestrationRuntimeState,
        IList<TaskMessage> outboundMessages,
        IList<TaskMessage> orchestratorMessages,
        IList<TaskMessage> timerMessages,
        TaskMessage continuedAsNewMessage,
        OrchestrationState orchestrationState)
    {
        var item = (SqliteOrchestrationWorkItem)workItem;
        if (!item.LockHeld) throw new SessionAbortedException($"The lock on orchestration instance '{item.InstanceId}' was lost.");
        var instanceId = item.InstanceId;
        var state = newOrchestrationRuntimeState;
        var now = NowTicks;
        var valid = orchestrationState != null && state is { IsValid: true };

        // Everything that can be prepared outside the transaction is prepared here (serialization dominates): writes of
        // other threads wait while this one holds the writer.
        string? executionId = null;
        var replaceHistory = false;
        var firstNewEvent = 0;
        List<(int Seq, int Type, string Json)>? events = null;
        List<OutMessage>? messages = null;
        List<string>? tasks = null;
        if (valid)
        {
            executionId = state.OrchestrationInstance?.ExecutionId;
            replaceHistory = item.PersistedExecutionId != null && executionId != item.PersistedExecutionId;
            firstNewEvent = replaceHistory ? 0 : item.PersistedEvents;
            events = new List<(int, int, string)>(state.Events.Count - firstNewEvent);
            for (var i = firstNewEvent; i < state.Events.Count; i++)
                events.Add((i, (int)state.Events[i].EventType, DtfxJson.SerializeEvent(state.Events[i])));
            messages = new List<OutMessage>(orchestratorMessages.Count + timerMessages.Count + 1);
            foreach (var m in orchestratorMessages) messages.Add(Prepare(m, now));
            foreach (var m in timerMessages) messages.Add(Prepare(m, now));
            if (continuedAsNewMessage != null) messages.Add(Prepare(continuedAsNewMessage, now));
            tasks = new List<string>(outboundMessages.Count);
            foreach (var m in outboundMessages) tasks.Add(DtfxJson.SerializeMessage(m));
        }
        var status = valid ? orchestrationState!.OrchestrationStatus : OrchestrationStatus.Running;
        var terminal = valid && IsTerminal(status);
        var keepLock = valid && !terminal && item.Session != null && item.IsExtendedSession && !_sessionsEnding.IsCancellationRequested;
        var until = now + _settings.WorkItemLockTimeout.Ticks;
        var inputChanged = valid && executionId != item.RowExecutionId; // a new execution (ContinueAsNew) brings a new input
        var failure = valid && orchestrationState!.FailureDetails is { } f ? DtfxJson.Serialize(f) : null;

        var delivered = new List<Delivery>();
        var fetchedAhead = new List<SqliteActivityWorkItem>();
        var storedTasks = new List<(long Id, TaskMessage Message)>();
        var wroteTasks = false;
        try
        {
            await Store.WriteAsync(c =>
            {
                delivered.Clear();
                fetchedAhead.Clear();
                storedTasks.Clear();
                if (c.Scalar("SELECT lock_token FROM instances WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId) as long? != item.LockToken)
                    throw new SessionAbortedException($"The lock on orchestration instance '{instanceId}' was lost before its turn was committed; the turn is discarded and will run again.");
                DeleteMessages(c, item.MessageIds);
                if (!valid)
                {
                    ReleaseInstance(c, instanceId, item.LockToken, 0);
                    return 0;
                }
                if (replaceHistory) c.Execute("DELETE FROM history WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId);
                foreach (var (seq, type, json) in events!)
                    c.Execute("INSERT INTO history(hub, instance_id, seq, event_type, data) VALUES (@p0, @p1, @p2, @p3, @p4)", _hub, instanceId, seq, type, json);
                if (tasks!.Count > 0)
                {
                    wroteTasks = true;
                    InsertTasks(c, instanceId, tasks, outboundMessages, now, fetchedAhead, storedTasks);
                }
                foreach (var m in messages!) Route(c, m, now, delivered);
                var s = orchestrationState!;
                // Only what a turn changes: columns in an index (created_at) and the payloads table are written only
                // when their values change, because SQLite rewrites an index entry for every column it is told to set.
                c.Execute("""
                    UPDATE instances SET execution_id = @p2, name = @p3, version = @p4, status = @p5, custom_status = @p6,
                        updated_at = @p7, completed_at = @p8, history_count = @p9, failure = @p10, generation = ifnull(@p11, generation),
                        lock_owner = CASE WHEN @p12 THEN lock_owner ELSE NULL END,
                        lock_token = CASE WHEN @p12 THEN lock_token ELSE NULL END,
                        lock_expires = CASE WHEN @p12 THEN @p13 ELSE 0 END,
                        ready_at = (SELECT min(visible_at) FROM messages m WHERE m.hub = @p0 AND m.instance_id = @p1)
                    WHERE hub = @p0 AND instance_id = @p1
                    """,
                    _hub, instanceId, executionId, s.Name ?? "", s.Version, (int)status, s.Status,
                    now, terminal ? Ticks(s.CompletedTime) : null, state.Events.Count, failure, s.Generation, keepLock, until);
                if (inputChanged)
                {
                    c.Execute("UPDATE instances SET created_at = @p2, tags = @p3 WHERE hub = @p0 AND instance_id = @p1",
                        _hub, instanceId, Ticks(s.CreatedTime), s.Tags is { Count: > 0 } tags ? DtfxJson.Serialize(tags) : null);
                    c.Execute("UPDATE payloads SET input = @p2, output = NULL WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId, s.Input);
                }
                if (terminal) c.Execute("UPDATE payloads SET output = @p2 WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId, s.Output);
                return 0;
            }, _ =>
            {
                if (!keepLock)
                {
                    // Before any wake-up: our dispatcher may lock the instance again at once, and must not find it held.
                    item.LockHeld = false;
                    Unregister(item);
                }
                if (storedTasks.Count > 0) RememberTaskMessages(storedTasks); // before the wake-up that may lock them
                AfterTurnCommitted(instanceId, delivered, fetchedAhead, wroteTasks, released: !keepLock, statusChanged: status != item.RowStatus);
                item.RowStatus = status;
            }).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (fetchedAhead.Count > 0) FreeActivitySlots(fetchedAhead.Count); // rolled back: nothing was handed out
            if (ex is SessionAbortedException) item.LockHeld = false;
            throw;
        }
        item.MessageIds = [];
        if (valid)
        {
            item.PersistedEvents = state.Events.Count;
            item.PersistedExecutionId = executionId;
            item.RowExecutionId = executionId;
        }
    }

    /// <summary>Wake-ups after a committed turn, run by the committing thread right after the commit.</summary>
    private void AfterTurnCommitted(string instanceId, List<Delivery> delivered, List<SqliteActivityWorkItem> fetchedAhead, bool wroteTasks, bool released,
        bool statusChanged)
    {
        var signals = _signals!;
        if (released) signals.Orchestrations.Pulse(); // messages that arrived during the turn now need a dispatcher
        foreach (var a in fetchedAhead)
        {
            _heldTasks[a.RowId] = a;
            _fetchedActivities.Enqueue(a);
        }
        if (wroteTasks) signals.Activities.Pulse();
        Announce(signals, delivered); // our own session too: it holds the new timers until they fall due
        if (statusChanged) signals.InstanceChanged(instanceId); // waiting clients re-read only when the status moved
    }

    /// <summary>
    /// After a commit: hands the stored messages to their sessions (or wakes a dispatcher); a delivery without a message
    /// (an instance created or ended) also wakes the clients waiting for it.
    /// </summary>
    private static void Announce(HubSignals signals, List<Delivery> delivered)
    {
        foreach (var d in delivered)
        {
            signals.MessageArrived(d.InstanceId, d.Message);
            if (d.Message == null) signals.InstanceChanged(d.InstanceId);
        }
    }

    private void Unregister(SqliteOrchestrationWorkItem item)
    {
        _lockedInstances.TryRemove(new KeyValuePair<string, SqliteOrchestrationWorkItem>(item.InstanceId, item));
        if (item.SqliteSession is { } session) _signals?.UnregisterSession(item.InstanceId, session.Inbox);
    }

    /// <summary>
    /// The extended session's wait for the instance's next messages (see <see cref="SqliteOrchestrationSession"/>).
    /// Null ends the session: idle timeout, lock lost, or the worker stopping.
    /// </summary>
    internal async Task<IList<TaskMessage>?> FetchSessionMessagesAsync(SqliteOrchestrationWorkItem item, SqliteOrchestrationSession session)
    {
        var ending = _sessionsEnding.Token;
        var deadline = new Deadline(_settings.ExtendedSessionIdleTimeout);
        item.InSessionWait = true;
        try
        {
            return await WaitForSessionMessagesAsync(item, session, deadline, ending).ConfigureAwait(false);
        }
        finally
        {
            item.InSessionWait = false;
        }
    }

    private async Task<IList<TaskMessage>?> WaitForSessionMessagesAsync(SqliteOrchestrationWorkItem item, SqliteOrchestrationSession session, Deadline deadline,
        CancellationToken ending)
    {
        var inbox = session.Inbox;
        var signals = Signals;
        while (item.LockHeld && !ending.IsCancellationRequested)
        {
            var version = inbox.Signal.Version; // before looking, so that a hand-over during the look is not slept through
            Drain(inbox, item);
            // The file is read when the session starts, when another process committed, and after a long wait.
            var external = signals.ExternalVersion;
            if (external != item.SessionExternalVersion || Environment.TickCount64 - item.SessionReadTick >= (long)MaxIdleWait.TotalMilliseconds)
            {
                var known = item.SessionPending;
                item.SessionPending = Store.Read(c => ReadPendingMessages(c, item.InstanceId, known, item.SessionDelivered));
                item.SessionExternalVersion = external;
                item.SessionReadTick = Environment.TickCount64;
                Drain(inbox, item); // handed over while the file was read
            }
            var now = NowTicks;
            var due = item.SessionPending.Values.Where(p => p.VisibleAt <= now).ToList();
            if (due.Count > 0)
            {
                foreach (var p in due)
                {
                    item.SessionPending.Remove(p.Id);
                    item.SessionDelivered.Add(p.Id);
                }
                item.MessageIds = due.Select(p => p.Id).ToList();
                return due.Select(p => p.Message).ToList();
            }
            var wait = deadline.Remaining;
            if (wait <= TimeSpan.Zero) return null; // idle timeout
            if (wait > MaxIdleWait) wait = MaxIdleWait;
            if (item.SessionPending.Count > 0)
            {
                var untilDue = TimeSpan.FromTicks(item.SessionPending.Values.Min(p => p.VisibleAt) - now);
                if (untilDue < wait) wait = untilDue < TimeSpan.Zero ? TimeSpan.Zero : untilDue;
            }
            if (wait > TimeSpan.Zero && inbox.Signal.Version == version) await inbox.Signal.WaitAsync(wait, ending).ConfigureAwait(false);
        }
        return null; // lock lost (the renewal found another owner) or the worker is stopping
    }

    /// <summary>Moves handed-over messages into the session's pending set, skipping those it already delivered.</summary>
    private static void Drain(SessionInbox inbox, SqliteOrchestrationWorkItem item)
    {
        while (inbox.Queue.TryDequeue(out var m))
        {
            if (!item.SessionDelivered.Contains(m.Id)) item.SessionPending[m.Id] = m;
        }
    }

    /// <summary>
    /// The instance's stored messages not yet delivered, by row id. Messages already known (handed over) are reused
    /// instead of deserialized again.
    /// </summary>
    private SortedDictionary<long, PendingMessage> ReadPendingMessages(Connection c, string instanceId, SortedDictionary<long, PendingMessage> known, HashSet<long> delivered)
    {
        var pending = new SortedDictionary<long, PendingMessage>();
        using var r = c.Query("SELECT id, visible_at, data FROM messages WHERE hub = @p0 AND instance_id = @p1 ORDER BY id", _hub, instanceId);
        while (r.Read())
        {
            var id = r.GetInt64(0);
            if (delivered.Contains(id)) continue;
            pending[id] = known.TryGetValue(id, out var m) ? m : new PendingMessage(id, DtfxJson.DeserializeMessage(r.GetString(2)), r.GetInt64(1));
        }
        return pending;
    }

    /// <summary>DTFx ends the session; the lock itself goes with <see cref="ReleaseTaskOrchestrationWorkItemAsync"/>.</summary>
    internal void EndSession(SqliteOrchestrationWorkItem item, SqliteOrchestrationSession session) =>
        _signals?.UnregisterSession(item.InstanceId, session.Inbox);

    /// <summary>
    /// Gives up a work item after a failure: the lock is released and the instance stays invisible for a second, so that
    /// a failing instance is retried without spinning (the consumed messages were not deleted, so nothing is lost).
    /// </summary>
    public async Task AbandonTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem)
    {
        var item = (SqliteOrchestrationWorkItem)workItem;
        Unregister(item);
        if (!item.LockHeld) return;
        item.LockHeld = false;
        var retryAt = NowTicks + AbandonedOrchestrationDelay.Ticks;
        await Store.WriteAsync(c => ReleaseInstance(c, item.InstanceId, item.LockToken, retryAt)).ConfigureAwait(false);
    }

    /// <summary>Releases the lock of a work item that DTFx is done with (after its last turn, or when a session ends).</summary>
    public async Task ReleaseTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem)
    {
        var item = (SqliteOrchestrationWorkItem)workItem;
        Unregister(item);
        if (!item.LockHeld) return;
        item.LockHeld = false;
        var signals = Signals;
        await Store.WriteAsync(c => ReleaseInstance(c, item.InstanceId, item.LockToken, 0), released =>
        {
            // Messages that arrived while the session was ending now need a dispatcher.
            if (released) signals.Orchestrations.Pulse();
        }).ConfigureAwait(false);
    }
}

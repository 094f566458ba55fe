using System.Collections.Concurrent;
using DurableTask.Core;
using Connection = Serverless.DurableTask.Sqlite.SqliteStore.Connection;

namespace Serverless.DurableTask.Sqlite;

// The activity side of IOrchestrationService. Activity tasks are rows locked with an expiry. A service locks tasks
// ahead of time, up to its free activity slots: in one statement when its dispatcher asks, and in the same transaction
// as the turn that scheduled them when that turn ran here. Tasks fetched ahead wait in memory, locked and renewed.
public sealed partial class SqliteOrchestrationService
{
    private readonly ConcurrentQueue<SqliteActivityWorkItem> _fetchedActivities = new();
    private readonly ConcurrentDictionary<long, SqliteActivityWorkItem> _heldTasks = new(); // locked by us: renewed
    private int _activitySlotsTaken; // tasks fetched ahead plus tasks handed to DTFx and not yet finished

    /// <summary>
    /// The messages of tasks this service inserted unlocked (beyond its free slots), by row id, so that locking them later
    /// in this process needs no deserialization (it was 5-7% of the CPU of a 10,000-activity fan-out). Filled after the
    /// commit (an id rolled back may be handed out again), emptied as the tasks are locked here. Tasks another process
    /// takes leave their entry behind, so the map is bounded.
    /// </summary>
    private readonly ConcurrentDictionary<long, TaskMessage> _storedTaskMessages = new();

    private const int StoredTaskMessagesLimit = 20_000;

    /// <summary>After a commit: remembers the messages of the tasks it inserted unlocked.</summary>
    private void RememberTaskMessages(List<(long Id, TaskMessage Message)> stored)
    {
        foreach (var (id, message) in stored)
        {
            if (_storedTaskMessages.Count >= StoredTaskMessagesLimit) return;
            _storedTaskMessages[id] = message;
        }
    }

    private const string LockTasksSql = """
        UPDATE tasks SET lock_owner = @p2, lock_token = @p3, lock_expires = @p4, dequeue_count = dequeue_count + 1
        WHERE id IN (SELECT id FROM tasks WHERE hub = @p0 AND lock_expires <= @p1 ORDER BY lock_expires, id LIMIT @p5)
        RETURNING id, dequeue_count, data
        """;

    /// <summary>Free activity slots to lock tasks for, reserved at once (never negative).</summary>
    private int ReserveActivitySlots(int wanted)
    {
        while (true)
        {
            var taken = Volatile.Read(ref _activitySlotsTaken);
            var free = Math.Min(wanted, _settings.MaxConcurrentActivityWorkItems - taken);
            if (free <= 0) return 0;
            if (Interlocked.CompareExchange(ref _activitySlotsTaken, taken + free, taken) == taken) return free;
        }
    }

    private void FreeActivitySlots(int n) => Interlocked.Add(ref _activitySlotsTaken, -n);

    /// <summary>
    /// Inserts a turn's activity tasks; as many as this service has free slots for are inserted already locked by it
    /// and handed to its dispatcher after the commit, saving a locking transaction per activity.
    /// </summary>
    private void InsertTasks(Connection c, string instanceId, List<string> tasks, IList<TaskMessage> messages, long now, List<SqliteActivityWorkItem> fetchedAhead,
        List<(long Id, TaskMessage Message)> stored)
    {
        var local = _renewalLoop != null ? ReserveActivitySlots(tasks.Count) : 0;
        var until = now + _settings.WorkItemLockTimeout.Ticks;
        var token = NextToken();
        try
        {
            for (var i = 0; i < tasks.Count; i++)
            {
                var mine = i < local;
                var id = (long)c.Scalar("""
                    INSERT INTO tasks(hub, instance_id, lock_owner, lock_token, lock_expires, dequeue_count, data)
                    VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6) RETURNING id
                    """, _hub, instanceId, mine ? _owner : null, mine ? token : null, mine ? until : 0, mine ? 1 : 0, tasks[i])!;
                if (mine)
                {
                    fetchedAhead.Add(new SqliteActivityWorkItem
                    {
                        Id = id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        RowId = id,
                        LockToken = token,
                        DequeueCount = 0,
                        LockedUntilUtc = LockedByService,
                        TaskMessage = messages[i],
                    });
                }
                else
                {
                    stored.Add((id, messages[i]));
                }
            }
        }
        catch
        {
            FreeActivitySlots(local); // the savepoint rolls the rows back
            fetchedAhead.Clear();
            stored.Clear();
            throw;
        }
    }

    /// <summary>Returns the next activity task: one fetched ahead, or a batch locked now, or (after waiting) none.</summary>
    public async Task<TaskActivityWorkItem?> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        var signals = Signals;
        var deadline = new Deadline(receiveTimeout);
        var signal = signals.Activities;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (_fetchedActivities.TryDequeue(out var ready)) return ready; // its slot was reserved when it was fetched
            // Look in the file only if tasks were announced since the last empty look (see the orchestration side).
            var version = signal.Version;
            var empty = _activitiesEmpty;
            if (version != empty.Version || Environment.TickCount64 - empty.Tick >= (long)MaxIdleWait.TotalMilliseconds)
            {
                var locked = await TryLockTasksAsync().ConfigureAwait(false);
                if (locked != null) return locked;
                _activitiesEmpty = empty = new EmptyLook(version, Environment.TickCount64, long.MaxValue);
            }
            var wait = deadline.Remaining;
            if (wait <= TimeSpan.Zero) return null;
            if (wait > MaxIdleWait) wait = MaxIdleWait;
            await signal.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
        }
        return null;
    }

    private EmptyLook _activitiesEmpty = new(-1, 0, long.MaxValue);

    private async Task<SqliteActivityWorkItem?> TryLockTasksAsync()
    {
        var store = Store;
        var now = NowTicks;
        if (store.Read(c => c.Scalar("SELECT 1 FROM tasks WHERE hub = @p0 AND lock_expires <= @p1 LIMIT 1", _hub, now)) == null) return null;
        var slots = ReserveActivitySlots(_settings.MaxConcurrentActivityWorkItems);
        if (slots == 0)
        {
            // DTFx asks only when it has a free slot; our count can lag behind it (an abandon still being written).
            Interlocked.Increment(ref _activitySlotsTaken);
            slots = 1;
        }
        var token = NextToken();
        var until = now + _settings.WorkItemLockTimeout.Ticks;
        List<TaskRow> rows;
        try
        {
            rows = await store.WriteAsync(c => LockTaskRows(c, now, token, until, slots)).ConfigureAwait(false);
        }
        catch
        {
            FreeActivitySlots(slots);
            throw;
        }
        var items = AcceptLockedTasks(rows, token, slots);
        if (items.Count == 0) return null;
        for (var i = 1; i < items.Count; i++) _fetchedActivities.Enqueue(items[i]);
        return items[0];
    }

    /// <summary>A task row just locked, as stored.</summary>
    private readonly record struct TaskRow(long Id, long DequeueCount, string Json);

    /// <summary>Locks up to <paramref name="slots"/> unlocked (or expired) tasks, oldest first.</summary>
    private List<TaskRow> LockTaskRows(Connection c, long now, long token, long until, int slots)
    {
        var rows = new List<TaskRow>(slots);
        using var r = c.Query(LockTasksSql, _hub, now, _owner, token, until, slots);
        while (r.Read()) rows.Add(new TaskRow(r.GetInt64(0), r.GetInt64(1), r.GetString(2)));
        return rows;
    }

    /// <summary>
    /// Turns locked rows into work items (deserialized after the commit) and gives back the slots reserved but not
    /// used. A task of ours whose lock had expired (a stall longer than the lock timeout) keeps running once, under
    /// the new lock, instead of starting a second time in this process.
    /// </summary>
    private List<SqliteActivityWorkItem> AcceptLockedTasks(List<TaskRow> rows, long token, int slots)
    {
        var items = new List<SqliteActivityWorkItem>(rows.Count);
        foreach (var row in rows)
        {
            if (_heldTasks.TryGetValue(row.Id, out var mine))
            {
                mine.LockToken = token;
                continue;
            }
            var item = new SqliteActivityWorkItem
            {
                Id = row.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                RowId = row.Id,
                LockToken = token,
                DequeueCount = (int)row.DequeueCount - 1,
                LockedUntilUtc = LockedByService,
                TaskMessage = _storedTaskMessages.TryRemove(row.Id, out var known) ? known : DtfxJson.DeserializeMessage(row.Json),
            };
            _heldTasks[row.Id] = item;
            items.Add(item);
        }
        FreeActivitySlots(slots - items.Count);
        return items;
    }

    /// <summary>Extends the lock of one activity (DTFx calls this every few seconds while the activity runs).</summary>
    public async Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem)
    {
        var item = (SqliteActivityWorkItem)workItem;
        var until = NowTicks + _settings.WorkItemLockTimeout.Ticks;
        var renewed = await Store.WriteAsync(c =>
            c.Execute("UPDATE tasks SET lock_expires = @p0 WHERE id = @p1 AND lock_token = @p2", until, item.RowId, item.LockToken) > 0).ConfigureAwait(false);
        return item;
    }

    /// <summary>
    /// Deletes the task and sends its result to the orchestration, in one transaction. If the task is gone (another
    /// worker ran it after this one's lock expired and completed first), the result is dropped: the first result wins.
    /// </summary>
    public async Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage)
    {
        ArgumentNullException.ThrowIfNull(responseMessage);
        var item = (SqliteActivityWorkItem)workItem;
        var now = NowTicks;
        var m = Prepare(responseMessage, now);
        var signals = Signals;
        _heldTasks.TryRemove(item.RowId, out _);
        FreeActivitySlots(1);

        // The slot this activity frees is filled in the same transaction, if tasks may be waiting: a fan-out then costs
        // one transaction per activity instead of two (the group commit merges them further).
        var version = signals.Activities.Version;
        var slots = _renewalLoop != null && version != _activitiesEmpty.Version ? ReserveActivitySlots(_settings.MaxConcurrentActivityWorkItems) : 0;
        var token = NextToken();
        var until = now + _settings.WorkItemLockTimeout.Ticks;
        var delivered = new List<Delivery>(1);
        var rows = new List<TaskRow>();
        try
        {
            await Store.WriteAsync(c =>
            {
                delivered.Clear();
                var sent = c.Execute("DELETE FROM tasks WHERE id = @p0", item.RowId) > 0 && InsertMessage(c, m, delivered);
                rows = slots > 0 ? LockTaskRows(c, now, token, until, slots) : [];
                return sent;
            }, _ => Announce(signals, delivered)).ConfigureAwait(false);
        }
        catch
        {
            FreeActivitySlots(slots);
            throw;
        }
        if (slots == 0) return;
        if (rows.Count < slots) _activitiesEmpty = new EmptyLook(version, Environment.TickCount64, long.MaxValue);
        var items = AcceptLockedTasks(rows, token, slots);
        if (items.Count == 0) return;
        foreach (var locked in items) _fetchedActivities.Enqueue(locked);
        signals.Activities.Pulse(); // the dispatcher may be waiting with a free slot
    }

    /// <summary>
    /// Gives an activity back after a failure outside the activity code (its middleware threw, or its name is not
    /// registered): it becomes visible again after a backoff that doubles with each attempt, from 1 s up to 1 minute.
    /// </summary>
    public async Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem)
    {
        var item = (SqliteActivityWorkItem)workItem;
        var delay = TimeSpan.FromSeconds(Math.Min(60, 1 << Math.Min(item.DequeueCount, 6)));
        var retryAt = NowTicks + delay.Ticks;
        try
        {
            await Store.WriteAsync(c =>
                c.Execute("UPDATE tasks SET lock_owner = NULL, lock_token = NULL, lock_expires = @p0 WHERE id = @p1 AND lock_token = @p2",
                    retryAt, item.RowId, item.LockToken)).ConfigureAwait(false);
        }
        finally
        {
            _heldTasks.TryRemove(item.RowId, out _);
            FreeActivitySlots(1);
        }
    }

    /// <summary>On stop: unlock the tasks fetched ahead that no activity started, so other processes run them now.</summary>
    private async Task ReleaseFetchedActivitiesAsync()
    {
        var items = new List<SqliteActivityWorkItem>();
        while (_fetchedActivities.TryDequeue(out var item))
        {
            items.Add(item);
            _heldTasks.TryRemove(item.RowId, out _);
        }
        if (items.Count == 0) return;
        FreeActivitySlots(items.Count);
        var signals = Signals;
        await Store.WriteAsync(c =>
        {
            foreach (var item in items)
                c.Execute("UPDATE tasks SET lock_owner = NULL, lock_token = NULL, lock_expires = 0 WHERE id = @p0 AND lock_token = @p1", item.RowId, item.LockToken);
            return 0;
        }, _ => signals.Activities.Pulse()).ConfigureAwait(false);
    }
}

using System.Globalization;
using System.Text;
using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Query;

namespace Serverless.DurableTask.Sqlite;

// The client side: IOrchestrationServiceClient, IOrchestrationServiceQueryClient, IOrchestrationServicePurgeClient.
public sealed partial class SqliteOrchestrationService
{
    private static readonly OrchestrationStatus[] TerminalStatuses =
        [OrchestrationStatus.Completed, OrchestrationStatus.Failed, OrchestrationStatus.Terminated, OrchestrationStatus.Canceled];

    /// <summary>Creates an instance; an existing instance that is not finished refuses it (see the two-argument overload).</summary>
    public Task CreateTaskOrchestrationAsync(TaskMessage creationMessage) => CreateTaskOrchestrationAsync(creationMessage, null!);

    /// <summary>
    /// Creates an instance from its <see cref="ExecutionStartedEvent"/> message (visible at its scheduled start time, if
    /// any). When an instance with the same id exists: a status listed in <paramref name="dedupeStatuses"/> throws
    /// <see cref="global::DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException"/>; with null, any status that
    /// is not terminal throws (a live instance is never overwritten by default); otherwise the old instance is replaced
    /// with its history, messages and tasks.
    /// </summary>
    public async Task CreateTaskOrchestrationAsync(TaskMessage creationMessage, OrchestrationStatus[] dedupeStatuses)
    {
        ArgumentNullException.ThrowIfNull(creationMessage);
        if (creationMessage.Event is not ExecutionStartedEvent started)
            throw new ArgumentException($"Only {nameof(ExecutionStartedEvent)} messages create instances, not {creationMessage.Event?.GetType().Name}.", nameof(creationMessage));
        var now = NowTicks;
        var m = Prepare(creationMessage, now);
        var signals = Signals;
        var delivered = new List<Delivery>();
        await Store.WriteAsync(c =>
        {
            delivered.Clear();
            return StartInstance(c, m, started, now, dedupeStatuses, delivered, fromClient: true);
        }, _ =>
        {
            signals.MessageArrived(m.InstanceId);
            signals.InstanceChanged(m.InstanceId);
        }).ConfigureAwait(false);
    }

    /// <summary>Queues a message (external event, termination, suspension, resumption) for an instance; dropped if the
    /// instance does not exist.</summary>
    public Task SendTaskOrchestrationMessageAsync(TaskMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return SendTaskOrchestrationMessageBatchAsync(message);
    }

    /// <summary>Queues several messages in one transaction.</summary>
    public async Task SendTaskOrchestrationMessageBatchAsync(params TaskMessage[] messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Length == 0) return;
        var now = NowTicks;
        var prepared = messages.Select(m => Prepare(m, now)).ToList();
        var signals = Signals;
        var delivered = new List<Delivery>();
        await Store.WriteAsync(c =>
        {
            delivered.Clear();
            foreach (var m in prepared) Route(c, m, now, delivered);
            return 0;
        }, _ => Announce(signals, delivered)).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until the instance finishes (Completed, Failed, Terminated) and returns its state, or null after
    /// <paramref name="timeout"/>. The execution id is not compared: an instance that continued as new finishes in a
    /// later execution, and its caller still waits for that end. A finish committed in this process wakes the wait at
    /// once; one committed by another process is seen within the polling interval.
    /// </summary>
    public async Task<OrchestrationState?> WaitForOrchestrationAsync(string instanceId, string executionId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        var signals = Signals;
        var deadline = new Deadline(timeout);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var changed = signals.StateChanged(instanceId);
            var state = await GetOrchestrationStateAsync(instanceId, (string?)null).ConfigureAwait(false);
            if (state != null && IsTerminal(state.OrchestrationStatus)) return state;
            var wait = deadline.Remaining;
            if (wait <= TimeSpan.Zero) return null;
            if (wait > MaxIdleWait) wait = MaxIdleWait;
            await changed.WaitAsync(wait, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Terminates an instance (DTFx's "force" here is a termination message, as in the other providers).</summary>
    public Task ForceTerminateTaskOrchestrationAsync(string instanceId, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        return SendTaskOrchestrationMessageAsync(new TaskMessage
        {
            OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId },
            Event = new ExecutionTerminatedEvent(-1, reason),
        });
    }

    /// <summary>The instance's state as a one-element list (only the latest execution is kept), or an empty list.</summary>
    public async Task<IList<OrchestrationState>> GetOrchestrationStateAsync(string instanceId, bool allExecutions)
    {
        var state = await GetOrchestrationStateAsync(instanceId, (string?)null).ConfigureAwait(false);
        return state == null ? [] : [state];
    }

    /// <summary>The instance's state with inputs and outputs, or null if it does not exist or runs another execution.</summary>
    public Task<OrchestrationState?> GetOrchestrationStateAsync(string instanceId, string? executionId)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        var state = Store.Read(c =>
        {
            using var r = c.Query($"{StateFrom(withData: true)} WHERE i.hub = @p0 AND i.instance_id = @p1", _hub, instanceId);
            return r.Read() ? ReadState(r, withData: true) : null;
        });
        if (state != null && !string.IsNullOrEmpty(executionId) && state.OrchestrationInstance.ExecutionId != executionId) state = null;
        return Task.FromResult(state);
    }

    /// <summary>The current execution's history as a JSON array of DTFx history events (DTFx's own JSON form).</summary>
    public Task<string> GetOrchestrationHistoryAsync(string instanceId, string executionId)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        // Each row holds one event in the very JSON form a serialized list of events has for its elements (DtfxJson,
        // $type names), so the array is the rows joined: no deserialization and re-serialization of every event (for a
        // 10,000-event history that was most of the time a fresh process took to load it). Only the execution check
        // reads an event.
        var json = Store.Read(c =>
        {
            if (!string.IsNullOrEmpty(executionId))
            {
                var first = c.Scalar("SELECT data FROM history WHERE hub = @p0 AND instance_id = @p1 AND event_type = @p2 ORDER BY seq LIMIT 1",
                    _hub, instanceId, (int)EventType.ExecutionStarted) as string;
                if (first is null || ((ExecutionStartedEvent)DtfxJson.DeserializeEvent(first)).OrchestrationInstance?.ExecutionId != executionId) return "[]";
            }
            var sb = new StringBuilder("[");
            using var r = c.Query("SELECT data FROM history WHERE hub = @p0 AND instance_id = @p1 ORDER BY seq", _hub, instanceId);
            while (r.Read())
            {
                if (sb.Length > 1) sb.Append(',');
                sb.Append(r.GetString(0));
            }
            return sb.Append(']').ToString();
        });
        return Task.FromResult(json);
    }

    /// <summary>Purges finished instances whose created, completed or last-updated time is before the threshold.</summary>
    public async Task PurgeOrchestrationHistoryAsync(DateTime thresholdDateTimeUtc, OrchestrationStateTimeRangeFilterType timeRangeFilterType)
    {
        var column = timeRangeFilterType switch
        {
            OrchestrationStateTimeRangeFilterType.OrchestrationCreatedTimeFilter => "created_at",
            OrchestrationStateTimeRangeFilterType.OrchestrationCompletedTimeFilter => "completed_at",
            OrchestrationStateTimeRangeFilterType.OrchestrationLastUpdatedTimeFilter => "updated_at",
            _ => throw new ArgumentOutOfRangeException(nameof(timeRangeFilterType), timeRangeFilterType, "Unknown time filter."),
        };
        var where = $"{column} < @p1 AND status IN ({TerminalList(null)})";
        await PurgeWhereAsync(where, [Ticks(thresholdDateTimeUtc)], null).ConfigureAwait(false);
    }

    /// <summary>Purges one instance with its history, messages and tasks, if it is finished (Completed, Failed,
    /// Terminated); a live instance is not purged (count 0).</summary>
    public async Task<PurgeResult> PurgeInstanceStateAsync(string instanceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        var signals = Signals;
        var purged = await Store.WriteAsync(c =>
        {
            if (c.Scalar("SELECT status FROM instances WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId) is not long status || !IsTerminal(status)) return 0;
            DeleteInstanceRows(c, instanceId);
            return 1;
        }, n =>
        {
            if (n > 0) signals.InstanceChanged(instanceId);
        }).ConfigureAwait(false);
        return new PurgeResult(purged);
    }

    /// <summary>
    /// Purges the finished instances created in the filter's time range with one of its statuses (only terminal
    /// statuses count), 100 per transaction so that workers are not held up. With a timeout, stops when it runs out and
    /// says so in <see cref="PurgeResult.IsComplete"/>.
    /// </summary>
    public async Task<PurgeResult> PurgeInstanceStateAsync(PurgeInstanceFilter purgeInstanceFilter)
    {
        ArgumentNullException.ThrowIfNull(purgeInstanceFilter);
        var where = new StringBuilder("created_at >= @p1");
        var args = new List<object?> { Ticks(purgeInstanceFilter.CreatedTimeFrom) };
        if (purgeInstanceFilter.CreatedTimeTo is { } to)
        {
            where.Append(" AND created_at <= @p2");
            args.Add(Ticks(to));
        }
        where.Append(CultureInfo.InvariantCulture, $" AND status IN ({TerminalList(purgeInstanceFilter.RuntimeStatus)})");
        return await PurgeWhereAsync(where.ToString(), args, purgeInstanceFilter.Timeout).ConfigureAwait(false);
    }

    private static string TerminalList(IEnumerable<OrchestrationStatus>? statuses)
    {
        var wanted = statuses?.Any() == true ? statuses.Where(IsTerminal).Distinct().ToList() : [.. TerminalStatuses];
        return wanted.Count == 0 ? "NULL" : string.Join(", ", wanted.Select(s => ((int)s).ToString(CultureInfo.InvariantCulture)));
    }

    private async Task<PurgeResult> PurgeWhereAsync(string where, List<object?> args, TimeSpan? timeout)
    {
        var signals = Signals;
        var deadline = new Deadline(timeout ?? TimeSpan.MaxValue);
        var total = 0;
        var sql = $"SELECT instance_id FROM instances WHERE hub = @p0 AND {where} LIMIT 100";
        while (true)
        {
            if (deadline.Remaining <= TimeSpan.Zero) return new PurgeResult(total, isComplete: false);
            var ids = await Store.WriteAsync(c =>
            {
                var batch = new List<string>();
                var parameters = new object?[args.Count + 1];
                parameters[0] = _hub;
                for (var i = 0; i < args.Count; i++) parameters[i + 1] = args[i];
                using (var r = c.Query(sql, parameters)) while (r.Read()) batch.Add(r.GetString(0));
                foreach (var id in batch) DeleteInstanceRows(c, id);
                return batch;
            }, batch =>
            {
                foreach (var id in batch) signals.InstanceChanged(id);
            }).ConfigureAwait(false);
            total += ids.Count;
            if (ids.Count < 100) return new PurgeResult(total, isComplete: true);
        }
    }

    /// <summary>
    /// One page of instances, ordered by instance id, filtered by status, creation time and id prefix. The continuation
    /// token is the last id of the page (opaque, base64), so pages stay stable while instances are added or purged.
    /// </summary>
    public Task<OrchestrationQueryResult> GetOrchestrationWithQueryAsync(OrchestrationQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.PageSize, 1, nameof(query.PageSize));
        if (query.TaskHubNames is { Count: > 0 } hubs && !hubs.Contains(_hub, StringComparer.Ordinal))
            return Task.FromResult(new OrchestrationQueryResult([], null));
        var where = new StringBuilder("i.hub = @p0");
        var args = new List<object?> { _hub };
        void Add(string condition, object? value)
        {
            args.Add(value);
            where.Append(" AND ").Append(condition.Replace("@@", "@p" + (args.Count - 1).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        }
        if (query.RuntimeStatus is { Count: > 0 } statuses)
            where.Append(CultureInfo.InvariantCulture, $" AND i.status IN ({string.Join(", ", statuses.Select(s => ((int)s).ToString(CultureInfo.InvariantCulture)))})");
        if (query.CreatedTimeFrom is { } from) Add("i.created_at >= @@", Ticks(from));
        if (query.CreatedTimeTo is { } to) Add("i.created_at <= @@", Ticks(to));
        if (!string.IsNullOrEmpty(query.InstanceIdPrefix))
        {
            // The range condition lets SQLite seek the primary key; the substr condition is the exact prefix test.
            Add("i.instance_id >= @@", query.InstanceIdPrefix);
            var p = "@p" + (args.Count - 1).ToString(CultureInfo.InvariantCulture);
            where.Append(CultureInfo.InvariantCulture, $" AND substr(i.instance_id, 1, length({p})) = {p}");
        }
        if (!string.IsNullOrEmpty(query.ContinuationToken)) Add("i.instance_id > @@", DecodeToken(query.ContinuationToken));
        args.Add(query.PageSize + 1);
        var sql = $"{StateFrom(query.FetchInputsAndOutputs)} WHERE {where} ORDER BY i.instance_id LIMIT @p{args.Count - 1}";
        var page = Store.Read(c =>
        {
            var list = new List<OrchestrationState>();
            using var r = c.Query(sql, args.ToArray());
            while (r.Read()) list.Add(ReadState(r, query.FetchInputsAndOutputs));
            return list;
        });
        string? next = null;
        if (page.Count > query.PageSize)
        {
            page.RemoveAt(page.Count - 1);
            next = Convert.ToBase64String(Encoding.UTF8.GetBytes(page[^1].OrchestrationInstance.InstanceId));
        }
        return Task.FromResult(new OrchestrationQueryResult(page, next));
    }

    private static string DecodeToken(string token)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(token));
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"The continuation token '{token}' was not issued by this provider.", nameof(token), ex);
        }
    }
}

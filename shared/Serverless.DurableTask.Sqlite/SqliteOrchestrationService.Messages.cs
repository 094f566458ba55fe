using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using Microsoft.Data.Sqlite;
using Connection = Serverless.DurableTask.Sqlite.SqliteStore.Connection;

namespace Serverless.DurableTask.Sqlite;

// Messages between instances: how a message is stored, how an instance is created or replaced, and how instance rows
// become DTFx's OrchestrationState. Everything taking a Connection runs with the writer connection inside a transaction.
public sealed partial class SqliteOrchestrationService
{
    /// <summary>A message serialized before the write, with the time it becomes visible.</summary>
    private sealed record OutMessage(string InstanceId, TaskMessage Message, string Json, long VisibleAt);

    private OutMessage Prepare(TaskMessage message, long now)
    {
        ArgumentNullException.ThrowIfNull(message.OrchestrationInstance, nameof(message.OrchestrationInstance));
        var visible = message.Event switch
        {
            TimerFiredEvent timer => Ticks(timer.FireAt),
            ExecutionStartedEvent { ScheduledStartTime: { } start } => Ticks(start),
            _ => now,
        };
        return new OutMessage(message.OrchestrationInstance.InstanceId, message, DtfxJson.SerializeMessage(message), visible);
    }

    /// <summary>What a commit delivered to an instance: a stored message, or (null) a change without one.</summary>
    private readonly record struct Delivery(string InstanceId, PendingMessage? Message);

    /// <summary>
    /// Stores a message for an existing instance and moves the instance's ready time forward; a message for an
    /// instance that does not exist (never created, or purged) is dropped (null), as DTFx's other providers drop it.
    /// </summary>
    private long? InsertMessage(Connection c, string instanceId, int eventType, string json, long visibleAt)
    {
        // The row is written only when the ready time moves earlier (a fan-in's results leave it alone after the first).
        if (c.Execute("UPDATE instances SET ready_at = @p2 WHERE hub = @p0 AND instance_id = @p1 AND (ready_at IS NULL OR ready_at > @p2)", _hub, instanceId, visibleAt) == 0
            && c.Scalar("SELECT 1 FROM instances WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId) == null)
            return null;
        return (long)c.Scalar("INSERT INTO messages(hub, instance_id, visible_at, event_type, data) VALUES (@p0, @p1, @p2, @p3, @p4) RETURNING id",
            _hub, instanceId, visibleAt, eventType, json)!;
    }

    /// <summary>Stores <paramref name="m"/> and records its delivery; false if its instance does not exist.</summary>
    private bool InsertMessage(Connection c, OutMessage m, List<Delivery> delivered)
    {
        if (InsertMessage(c, m.InstanceId, (int)m.Message.Event.EventType, m.Json, m.VisibleAt) is not { } id) return false;
        delivered.Add(new Delivery(m.InstanceId, new PendingMessage(id, m.Message, m.VisibleAt)));
        return true;
    }

    /// <summary>
    /// Delivers a message from an orchestration or a client. A start message creates the instance (see
    /// <see cref="StartInstance"/>); a termination of an instance whose scheduled start is still ahead ends it at once;
    /// anything else is queued for the instance.
    /// </summary>
    private void Route(Connection c, OutMessage m, long now, List<Delivery> delivered)
    {
        switch (m.Message.Event)
        {
            case ExecutionStartedEvent started:
                if (StartInstance(c, m, started, now, dedupeStatuses: null, delivered)) delivered.Add(new Delivery(m.InstanceId, null));
                break;
            case ExecutionTerminatedEvent terminated when TerminateBeforeStart(c, m.InstanceId, terminated, now):
                delivered.Add(new Delivery(m.InstanceId, null));
                break;
            default:
                InsertMessage(c, m, delivered);
                break;
        }
    }

    /// <summary>
    /// Creates an instance with its start message. An existing instance in a status listed in
    /// <paramref name="dedupeStatuses"/> refuses the start (<see cref="OrchestrationAlreadyExistsException"/>); null means
    /// "any status that is not terminal", so a live instance is never overwritten by default; any other existing
    /// instance is replaced (its history, messages and tasks deleted). A sub-orchestration start that meets a live
    /// instance fails the parent's sub-orchestration task instead of hanging it.
    /// </summary>
    private bool StartInstance(Connection c, OutMessage m, ExecutionStartedEvent started, long now, OrchestrationStatus[]? dedupeStatuses, List<Delivery> delivered,
        bool fromClient = false)
    {
        var id = m.InstanceId;
        if (c.Scalar("SELECT status FROM instances WHERE hub = @p0 AND instance_id = @p1", _hub, id) is long existing)
        {
            var status = (OrchestrationStatus)existing;
            var refused = dedupeStatuses?.Contains(status) ?? !IsTerminal(status);
            if (refused)
            {
                var message = $"An orchestration instance with ID '{id}' already exists in status {status} in task hub '{_hub}'.";
                if (started.ParentInstance is { } parent)
                {
                    var failed = new SubOrchestrationInstanceFailedEvent(-1, parent.TaskScheduleId, message, null,
                        new FailureDetails(typeof(OrchestrationAlreadyExistsException).FullName!, message, null, null, isNonRetriable: true));
                    var reply = new TaskMessage { OrchestrationInstance = parent.OrchestrationInstance, Event = failed };
                    InsertMessage(c, new OutMessage(parent.OrchestrationInstance.InstanceId, reply, DtfxJson.SerializeMessage(reply), now), delivered);
                    return false;
                }
                if (dedupeStatuses == null && !fromClient) return false; // an orchestration's start without a parent: dropped, never a failed turn
                throw new OrchestrationAlreadyExistsException(message);
            }
            DeleteInstanceRows(c, id);
        }
        var start = started.ScheduledStartTime is { } s ? Ticks(s) : (long?)null;
        c.Execute("""
            INSERT INTO instances(hub, instance_id, execution_id, name, version, status, created_at, updated_at, scheduled_start,
                parent_instance_id, generation, ready_at, tags, parent)
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12, @p13)
            """,
            _hub, id, started.OrchestrationInstance?.ExecutionId, started.Name ?? "", started.Version, StatusPending, Ticks(started.Timestamp), now, start,
            started.ParentInstance?.OrchestrationInstance?.InstanceId, started.Generation, m.VisibleAt,
            started.Tags is { Count: > 0 } tags ? DtfxJson.Serialize(tags) : null,
            started.ParentInstance is { } p ? DtfxJson.Serialize(p) : null);
        c.Execute("INSERT INTO payloads(hub, instance_id, input) VALUES (@p0, @p1, @p2)", _hub, id, started.Input);
        c.Execute("INSERT INTO messages(hub, instance_id, visible_at, event_type, data) VALUES (@p0, @p1, @p2, @p3, @p4)",
            _hub, id, m.VisibleAt, (int)EventType.ExecutionStarted, m.Json);
        return true;
    }

    /// <summary>
    /// Terminating an instance that waits for its scheduled start: DTFx would only see the termination once the start
    /// message became visible, so the provider ends the instance itself (as the Azure Storage provider does).
    /// </summary>
    private bool TerminateBeforeStart(Connection c, string instanceId, ExecutionTerminatedEvent terminated, long now)
    {
        using (var r = c.Query("SELECT status, scheduled_start FROM instances WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId))
        {
            if (!r.Read() || r.GetInt64(0) != StatusPending || r.IsDBNull(1) || r.GetInt64(1) <= now) return false;
        }
        c.Execute("DELETE FROM messages WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId);
        c.Execute("""
            UPDATE instances SET status = @p2, updated_at = @p3, completed_at = @p3, ready_at = NULL
            WHERE hub = @p0 AND instance_id = @p1
            """, _hub, instanceId, (int)OrchestrationStatus.Terminated, now);
        c.Execute("UPDATE payloads SET output = @p2 WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId, terminated.Input);
        return true;
    }

    private void DeleteInstanceRows(Connection c, string instanceId)
    {
        c.Execute("DELETE FROM history WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId);
        c.Execute("DELETE FROM messages WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId);
        c.Execute("DELETE FROM tasks WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId);
        c.Execute("DELETE FROM payloads WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId);
        c.Execute("DELETE FROM instances WHERE hub = @p0 AND instance_id = @p1", _hub, instanceId);
    }

    // ---------------- instance rows as OrchestrationState ----------------

    private const string StateColumns =
        "i.instance_id, i.execution_id, i.name, i.version, i.status, i.created_at, i.updated_at, i.completed_at, i.scheduled_start, i.generation, i.tags, i.parent, i.failure, i.custom_status";

    /// <summary>Instance rows (alias <c>i</c>), with or without the input and output columns.</summary>
    private static string StateFrom(bool withData) => withData
        ? $"SELECT {StateColumns}, p.input, p.output FROM instances i LEFT JOIN payloads p ON p.hub = i.hub AND p.instance_id = i.instance_id"
        : $"SELECT {StateColumns} FROM instances i";

    private static OrchestrationState ReadState(SqliteDataReader r, bool withData) => new()
    {
        OrchestrationInstance = new OrchestrationInstance { InstanceId = r.GetString(0), ExecutionId = r.IsDBNull(1) ? null : r.GetString(1) },
        Name = r.GetString(2),
        Version = r.IsDBNull(3) ? null : r.GetString(3),
        OrchestrationStatus = (OrchestrationStatus)r.GetInt64(4),
        CreatedTime = new DateTime(r.GetInt64(5), DateTimeKind.Utc),
        LastUpdatedTime = new DateTime(r.GetInt64(6), DateTimeKind.Utc),
        CompletedTime = r.IsDBNull(7) ? global::DurableTask.Core.Common.Utils.DateTimeSafeMaxValue : new DateTime(r.GetInt64(7), DateTimeKind.Utc),
        ScheduledStartTime = r.IsDBNull(8) ? null : new DateTime(r.GetInt64(8), DateTimeKind.Utc),
        Generation = r.IsDBNull(9) ? null : (int)r.GetInt64(9),
        Tags = r.IsDBNull(10) ? null : DtfxJson.Deserialize<IDictionary<string, string>>(r.GetString(10)),
        ParentInstance = r.IsDBNull(11) ? null : DtfxJson.Deserialize<ParentInstance>(r.GetString(11)),
        FailureDetails = r.IsDBNull(12) ? null : DtfxJson.Deserialize<FailureDetails>(r.GetString(12)),
        Status = r.IsDBNull(13) ? null : r.GetString(13),
        Input = withData && !r.IsDBNull(14) ? r.GetString(14) : null,
        Output = withData && !r.IsDBNull(15) ? r.GetString(15) : null,
    };
}

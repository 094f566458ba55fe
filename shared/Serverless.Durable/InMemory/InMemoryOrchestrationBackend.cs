using Serverless.Durable.Backend;
using Serverless.Durable.History;

namespace Serverless.Durable.InMemory;

/// <summary>
/// A backend that keeps everything in process memory: for unit tests and for experiments where losing
/// state on exit is acceptable. One lock guards all state; semantics match the durable backends
/// (leases with expiry, atomic turns), which the shared conformance suite checks.
/// </summary>
public sealed class InMemoryOrchestrationBackend : IOrchestrationBackend
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, Instance> _instances = new(StringComparer.Ordinal);
    private readonly List<ActivityRow> _activities = [];
    private readonly Dictionary<string, (DateTime Seen, string[] Pools)> _workers = [];
    private readonly WorkSignal _orchestrationSignal = new();
    private readonly WorkSignal _activitySignal = new();
    private long _nextId;

    /// <summary>Creates a backend that reads the time from <paramref name="timeProvider"/> (default: system clock).</summary>
    public InMemoryOrchestrationBackend(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    private sealed class Instance
    {
        public required string Id;
        public string Name = "";
        public string? ExecutionId;
        public OrchestrationRuntimeStatus Status = OrchestrationRuntimeStatus.Pending;
        public DateTime CreatedAt, UpdatedAt;
        public string? Input, Output, CustomStatus;
        public TaskFailureDetails? Failure;
        public string? ParentId;
        public List<HistoryEvent> History = [];
        public List<(long Id, OrchestrationMessage Message)> Messages = [];
        public string? LockToken;
        public DateTime LockedUntil;
    }

    private sealed class ActivityRow
    {
        public long Id;
        public required ActivityMessage Message;
        public string? LockToken;
        public DateTime LockedUntil;
        public int DequeueCount;
    }

    private DateTime Now => _time.GetUtcNow().UtcDateTime;

    /// <inheritdoc/>
    public Task InitializeAsync(CancellationToken cancellation = default) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task CreateInstanceAsync(ExecutionStartedEvent started, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(started);
        lock (_lock)
        {
            if (_instances.TryGetValue(started.InstanceId, out var existing) && !existing.Status.IsTerminal())
                throw new InstanceAlreadyExistsException(started.InstanceId);
            CreateInstanceLocked(started);
        }
        _orchestrationSignal.Pulse();
        return Task.CompletedTask;
    }

    private void CreateInstanceLocked(ExecutionStartedEvent started)
    {
        var now = Now;
        var inst = new Instance
        {
            Id = started.InstanceId,
            Name = started.Name,
            Input = started.Input,
            CreatedAt = now,
            UpdatedAt = now,
            ParentId = started.ParentInstance?.InstanceId,
        };
        inst.Messages.Add((++_nextId, new OrchestrationMessage(started.InstanceId, started, started.ScheduledStartTime)));
        _instances[started.InstanceId] = inst;
    }

    /// <inheritdoc/>
    public Task<bool> SendMessageAsync(OrchestrationMessage message, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_lock)
        {
            if (!_instances.TryGetValue(message.InstanceId, out var inst)) return Task.FromResult(false);
            inst.Messages.Add((++_nextId, message));
        }
        _orchestrationSignal.Pulse();
        return Task.FromResult(true);
    }

    /// <inheritdoc/>
    public Task<OrchestrationState?> GetStateAsync(string instanceId, CancellationToken cancellation = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_instances.TryGetValue(instanceId, out var i) ? ToState(i, true) : null);
        }
    }

    private static OrchestrationState ToState(Instance i, bool withData) => new()
    {
        InstanceId = i.Id,
        Name = i.Name,
        ExecutionId = i.ExecutionId,
        Status = i.Status,
        CreatedAt = i.CreatedAt,
        LastUpdatedAt = i.UpdatedAt,
        Input = withData ? i.Input : null,
        Output = withData ? i.Output : null,
        CustomStatus = i.CustomStatus,
        FailureDetails = i.Failure,
        ParentInstanceId = i.ParentId,
    };

    /// <inheritdoc/>
    public Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellation = default)
    {
        lock (_lock)
        {
            IReadOnlyList<HistoryEvent> h = _instances.TryGetValue(instanceId, out var i) ? i.History.ToList() : [];
            return Task.FromResult(h);
        }
    }

    /// <inheritdoc/>
    public Task<OrchestrationQueryResult> QueryAsync(OrchestrationQuery query, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (_lock)
        {
            var matches = _instances.Values
                .Where(i => query.Statuses is not { Count: > 0 } || query.Statuses.Contains(i.Status))
                .Where(i => query.CreatedFrom is null || i.CreatedAt >= query.CreatedFrom)
                .Where(i => query.CreatedTo is null || i.CreatedAt <= query.CreatedTo)
                .Where(i => query.InstanceIdPrefix is null || i.Id.StartsWith(query.InstanceIdPrefix, StringComparison.Ordinal))
                .Where(i => query.ContinuationToken is null || string.CompareOrdinal(i.Id, query.ContinuationToken) > 0)
                .OrderBy(i => i.Id, StringComparer.Ordinal)
                .Take(query.PageSize + 1)
                .Select(i => ToState(i, query.FetchInputsAndOutputs))
                .ToList();
            string? token = null;
            if (matches.Count > query.PageSize)
            {
                matches.RemoveAt(matches.Count - 1);
                token = matches[^1].InstanceId;
            }
            return Task.FromResult(new OrchestrationQueryResult(matches, token));
        }
    }

    /// <inheritdoc/>
    public Task<int> PurgeAsync(string instanceId, CancellationToken cancellation = default)
    {
        lock (_lock)
        {
            if (_instances.TryGetValue(instanceId, out var i) && i.Status.IsTerminal())
            {
                _instances.Remove(instanceId);
                return Task.FromResult(1);
            }
            return Task.FromResult(0);
        }
    }

    /// <inheritdoc/>
    public Task<int> PurgeAsync(PurgeFilter filter, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        lock (_lock)
        {
            var victims = _instances.Values
                .Where(i => i.Status.IsTerminal())
                .Where(i => filter.Statuses is not { Count: > 0 } || filter.Statuses.Contains(i.Status))
                .Where(i => filter.CreatedFrom is null || i.CreatedAt >= filter.CreatedFrom)
                .Where(i => filter.CreatedTo is null || i.CreatedAt <= filter.CreatedTo)
                .Select(i => i.Id).ToList();
            foreach (var v in victims) _instances.Remove(v);
            return Task.FromResult(victims.Count);
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<OrchestrationWorkItem>> LockNextOrchestrationWorkItemsAsync(int maxCount, TimeSpan lockTimeout, CancellationToken cancellation = default)
    {
        var result = new List<OrchestrationWorkItem>();
        lock (_lock)
        {
            var now = Now;
            foreach (var inst in _instances.Values)
            {
                if (result.Count >= maxCount) break;
                if (inst.LockToken != null && inst.LockedUntil > now) continue;
                var visible = inst.Messages.Where(m => (m.Message.VisibleAt ?? DateTime.MinValue) <= now).ToList();
                if (visible.Count == 0) continue;
                // A pending instance starts only when its (possibly delayed) ExecutionStarted is due.
                if (inst.Status == OrchestrationRuntimeStatus.Pending && !visible.Any(v => v.Message.Event is ExecutionStartedEvent)) continue;
                var token = Guid.NewGuid().ToString("N");
                inst.LockToken = token;
                inst.LockedUntil = now + lockTimeout;
                result.Add(new OrchestrationWorkItem
                {
                    InstanceId = inst.Id,
                    ExecutionId = inst.ExecutionId,
                    Status = inst.Status,
                    HistoryCount = inst.History.Count,
                    Messages = visible.Select(v => v.Message).ToList(),
                    BackendState = (token, visible.Select(v => v.Id).ToHashSet()),
                    LockedUntil = inst.LockedUntil,
                });
            }
        }
        return Task.FromResult<IReadOnlyList<OrchestrationWorkItem>>(result);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<HistoryEvent>> LoadHistoryAsync(OrchestrationWorkItem workItem, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        return GetHistoryAsync(workItem.InstanceId, cancellation);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<ActivityWorkItem>> CompleteOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, OrchestrationTurnResult result,
        LocalActivityLease? localLease = null, CancellationToken cancellation = default)
    {
        var leased = new List<ActivityWorkItem>();
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(result);
        var (token, ids) = ((string, HashSet<long>))workItem.BackendState!;
        bool anyActivities, anyMessages;
        lock (_lock)
        {
            var now = Now;
            if (!_instances.TryGetValue(workItem.InstanceId, out var inst) || inst.LockToken != token || inst.LockedUntil < now)
                throw new WorkItemLockLostException(workItem.InstanceId);
            inst.Messages.RemoveAll(m => ids.Contains(m.Id));
            inst.LockToken = null;
            anyActivities = result.Activities.Count > 0;
            anyMessages = result.Messages.Count > 0 || result.ContinuedAsNew != null;
            if (result.NewEvents.Count == 0 && result.ContinuedAsNew == null) return Task.FromResult<IReadOnlyList<ActivityWorkItem>>(leased);

            inst.History.AddRange(result.NewEvents);
            inst.ExecutionId = result.ExecutionId;
            inst.Name = result.Name;
            inst.Input = result.Input;
            inst.Status = result.Status;
            inst.Output = result.Output;
            inst.CustomStatus = result.CustomStatus;
            inst.Failure = result.FailureDetails;
            inst.UpdatedAt = now;
            foreach (var a in result.Activities)
            {
                var row = new ActivityRow { Id = ++_nextId, Message = a };
                if (localLease != null && leased.Count < localLease.MaxCount && localLease.Pools.Contains(a.Scheduled.Pool))
                {
                    row.LockToken = Guid.NewGuid().ToString("N");
                    row.LockedUntil = now + localLease.LockTimeout;
                    row.DequeueCount = 1;
                    leased.Add(new ActivityWorkItem { Message = a, BackendState = (row.Id, row.LockToken), DequeueCount = 0, LockedUntil = row.LockedUntil });
                }
                _activities.Add(row);
            }
            foreach (var m in result.Messages) RouteLocked(m);
            if (result.ContinuedAsNew is { } next)
            {
                inst.History = [];
                inst.Status = OrchestrationRuntimeStatus.Running;
                inst.Input = next.Input;
                inst.Output = null;
                inst.Messages.Add((++_nextId, new OrchestrationMessage(inst.Id, next)));
                foreach (var e in result.CarryOverEvents) inst.Messages.Add((++_nextId, new OrchestrationMessage(inst.Id, e)));
            }
        }
        if (anyActivities && leased.Count < result.Activities.Count) _activitySignal.Pulse();
        if (anyMessages) _orchestrationSignal.Pulse();
        return Task.FromResult<IReadOnlyList<ActivityWorkItem>>(leased);
    }

    private void RouteLocked(OrchestrationMessage m)
    {
        if (m.Event is ExecutionStartedEvent started)
        {
            if (!_instances.TryGetValue(m.InstanceId, out var existing) || existing.Status.IsTerminal())
                CreateInstanceLocked(started);
            return;
        }
        if (_instances.TryGetValue(m.InstanceId, out var target)) target.Messages.Add((++_nextId, m));
    }

    /// <inheritdoc/>
    public Task AbandonOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, TimeSpan delay, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var (token, _) = ((string, HashSet<long>))workItem.BackendState!;
        lock (_lock)
        {
            if (_instances.TryGetValue(workItem.InstanceId, out var inst) && inst.LockToken == token)
            {
                // Keep the lock until the delay passes, so the same messages are not retried in a hot loop.
                inst.LockedUntil = Now + delay;
            }
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<ActivityWorkItem>> LockNextActivityWorkItemsAsync(IReadOnlyCollection<string> pools, int maxCount, TimeSpan lockTimeout, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(pools);
        var result = new List<ActivityWorkItem>();
        lock (_lock)
        {
            var now = Now;
            foreach (var row in _activities)
            {
                if (result.Count >= maxCount) break;
                if (row.LockToken != null && row.LockedUntil > now) continue;
                if (!pools.Contains(row.Message.Scheduled.Pool)) continue;
                row.LockToken = Guid.NewGuid().ToString("N");
                row.LockedUntil = now + lockTimeout;
                result.Add(new ActivityWorkItem { Message = row.Message, BackendState = (row.Id, row.LockToken), DequeueCount = row.DequeueCount++, LockedUntil = row.LockedUntil });
            }
        }
        return Task.FromResult<IReadOnlyList<ActivityWorkItem>>(result);
    }

    /// <inheritdoc/>
    public Task<bool> RenewActivityWorkItemLockAsync(ActivityWorkItem workItem, TimeSpan lockTimeout, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var (id, token) = ((long, string))workItem.BackendState!;
        lock (_lock)
        {
            var row = _activities.Find(r => r.Id == id);
            if (row == null || row.LockToken != token) return Task.FromResult(false);
            row.LockedUntil = Now + lockTimeout;
            workItem.LockedUntil = row.LockedUntil;
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc/>
    public Task CompleteActivityWorkItemAsync(ActivityWorkItem workItem, HistoryEvent result, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var (id, _) = ((long, string))workItem.BackendState!;
        lock (_lock)
        {
            var index = _activities.FindIndex(r => r.Id == id);
            if (index < 0) return Task.CompletedTask; // completed already by another worker
            _activities.RemoveAt(index);
            if (_instances.TryGetValue(workItem.Message.InstanceId, out var inst))
                inst.Messages.Add((++_nextId, new OrchestrationMessage(inst.Id, result)));
        }
        _orchestrationSignal.Pulse();
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task AbandonActivityWorkItemAsync(ActivityWorkItem workItem, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var (id, token) = ((long, string))workItem.BackendState!;
        lock (_lock)
        {
            var row = _activities.Find(r => r.Id == id);
            if (row != null && row.LockToken == token) row.LockToken = null;
        }
        _activitySignal.Pulse();
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public WorkSignal GetWorkSignal(WorkKind kind) => kind == WorkKind.Orchestration ? _orchestrationSignal : _activitySignal;

    /// <inheritdoc/>
    public Task HeartbeatAsync(string workerId, IReadOnlyCollection<string> pools, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(pools);
        lock (_lock) _workers[workerId] = (Now, pools.ToArray());
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<IReadOnlySet<string>> GetLivePoolsAsync(DateTime since, CancellationToken cancellation = default)
    {
        lock (_lock)
        {
            IReadOnlySet<string> pools = _workers.Values.Where(w => w.Seen >= since).SelectMany(w => w.Pools).ToHashSet();
            return Task.FromResult(pools);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Durable.Backend;
using Serverless.Durable.History;

namespace Serverless.Durable.Core;

/// <summary>
/// Replays one execution of an orchestration from its history and runs new events through it, producing
/// the turn's new history events and outbound messages. An executor may be kept between turns (an
/// in-memory session), in which case only the new events are processed; otherwise it is rebuilt by replay.
/// Not thread-safe: the backend's lease guarantees one turn at a time per instance.
/// </summary>
internal sealed class OrchestrationExecutor
{
    private readonly DurableTaskRegistry _registry;
    private readonly DataConverter _converter;
    private readonly Func<string, string> _poolOf;
    private readonly ILoggerFactory _loggerFactory;
    private readonly OrchestrationSynchronizationContext _syncContext = new();

    // Execution state
    private ContextImpl? _context;
    private Task<object?>? _orchestratorTask;
    private ExecutionStartedEvent? _started;
    private bool _finished;
    private bool _suspended;
    private readonly List<HistoryEvent> _suspendedBuffer = [];
    private readonly Dictionary<int, OpenTask> _openTasks = [];
    private readonly SortedDictionary<int, PendingAction> _pendingReplayActions = [];
    private readonly Dictionary<string, LinkedList<EventWaiter>> _eventWaiters = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<EventRaisedEvent> _bufferedEvents = [];
    private int _nextSequence;
    private int _guidCounter;
    private bool _isReplaying;
    private DateTime _currentUtc;
    private string? _customStatus;
    private (string? Input, bool Preserve)? _continueAsNew;
    private Exception? _fatal;

    // Turn outputs
    private List<HistoryEvent> _newEvents = [];
    private List<ActivityMessage> _activities = [];
    private List<OrchestrationMessage> _messages = [];
    private OrchestrationRuntimeStatus _status = OrchestrationRuntimeStatus.Pending;
    private string? _output;
    private TaskFailureDetails? _failure;

    public OrchestrationExecutor(string instanceId, DurableTaskRegistry registry, DataConverter converter,
        Func<string, string> poolOf, ILoggerFactory? loggerFactory)
    {
        InstanceId = instanceId;
        _registry = registry;
        _converter = converter;
        _poolOf = poolOf;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    public string InstanceId { get; }

    /// <summary>The execution this executor has state for (null before ExecutionStarted).</summary>
    public string? ExecutionId => _started?.ExecutionId;

    /// <summary>Number of history events applied (past + committed new ones).</summary>
    public int HistoryCount { get; private set; }

    /// <summary>True when the execution finished (completed, failed, terminated or continued as new).</summary>
    public bool IsFinished => _finished;

    /// <summary>Replays past history. Call once, on a fresh executor, before the first <see cref="ExecuteTurn"/>.</summary>
    public void Replay(IReadOnlyList<HistoryEvent> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        _isReplaying = true;
        RunWithContext(() =>
        {
            foreach (var e in history)
            {
                ProcessEvent(e);
                if (_fatal != null) break;
            }
        });
        HistoryCount = history.Count;
        _isReplaying = false;
    }

    /// <summary>Processes a turn's new messages at time <paramref name="now"/> and returns what to commit.</summary>
    public OrchestrationTurnResult ExecuteTurn(IReadOnlyList<OrchestrationMessage> messages, DateTime now)
    {
        _newEvents = [];
        _activities = [];
        _messages = [];

        RunWithContext(() =>
        {
            // Actions that replayed code created beyond what history recorded are new actions of this turn.
            if (_pendingReplayActions.Count > 0 && _fatal == null)
            {
                foreach (var pending in _pendingReplayActions.Values.ToList()) Emit(pending);
                _pendingReplayActions.Clear();
            }
            Append(new OrchestratorStartedEvent { Timestamp = now });
            _currentUtc = now;
            foreach (var m in messages)
            {
                if (_finished || _fatal != null) break;
                var e = m.Event.Timestamp == default ? m.Event with { Timestamp = now } : m.Event;
                if (IsStale(e)) continue; // duplicates and late results are not recorded
                Append(e);
                ProcessEvent(e);
            }
            CheckCompletion();
        });

        if (_fatal != null && !_finished)
        {
            // Non-determinism or an engine-level failure: the instance fails with the reason.
            Finish(OrchestrationRuntimeStatus.Failed, null, TaskFailureDetails.FromException(_fatal));
        }
        Append(new OrchestratorCompletedEvent { Timestamp = now });

        ExecutionStartedEvent? next = null;
        IReadOnlyList<HistoryEvent> carry = [];
        if (_status == OrchestrationRuntimeStatus.ContinuedAsNew && _continueAsNew is { } can)
        {
            next = new ExecutionStartedEvent
            {
                Name = _started!.Name,
                InstanceId = InstanceId,
                ExecutionId = NewGuidCore().ToString("N"),
                Input = can.Input,
                ParentInstance = _started.ParentInstance,
                Timestamp = now,
            };
            if (can.Preserve) carry = _bufferedEvents.Cast<HistoryEvent>().Concat(_suspendedBuffer).ToList();
        }

        HistoryCount += _newEvents.Count;
        return new OrchestrationTurnResult
        {
            ExecutionId = _started?.ExecutionId ?? "",
            NewEvents = _newEvents,
            Activities = _activities,
            Messages = _messages,
            Status = _status,
            Name = _started?.Name ?? "",
            Input = _started?.Input,
            Output = _output,
            CustomStatus = _customStatus,
            FailureDetails = _failure,
            ContinuedAsNew = next,
            CarryOverEvents = carry,
            Parent = _started?.ParentInstance,
        };
    }

    private void RunWithContext(Action action)
    {
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(_syncContext);
        try
        {
            action();
            _syncContext.Drain();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    private void Append(HistoryEvent e)
    {
        if (!_isReplaying) _newEvents.Add(e);
    }

    /// <summary>True for a new event that must be dropped: a second result for the same task (at-least-once
    /// delivery), a result for a cancelled timer, a second start, or a control message for a finished execution.</summary>
    private bool IsStale(HistoryEvent e) => e switch
    {
        ExecutionStartedEvent => _started != null,
        ExecutionTerminatedEvent or ExecutionSuspendedEvent or ExecutionResumedEvent => _finished,
        TaskCompletedEvent tc => !_openTasks.ContainsKey(tc.TaskScheduledId),
        TaskFailedEvent tf => !_openTasks.ContainsKey(tf.TaskScheduledId),
        SubOrchestrationInstanceCompletedEvent sc => !_openTasks.ContainsKey(sc.TaskScheduledId),
        SubOrchestrationInstanceFailedEvent sf => !_openTasks.ContainsKey(sf.TaskScheduledId),
        TimerFiredEvent tfired => !_openTasks.ContainsKey(tfired.TimerId),
        _ => false,
    };

    /// <summary>Applies one event (past or new).</summary>
    private bool ProcessEvent(HistoryEvent e)
    {
        if (_suspended && e is not (ExecutionResumedEvent or ExecutionTerminatedEvent or OrchestratorStartedEvent or OrchestratorCompletedEvent
            or TaskScheduledEvent or TimerCreatedEvent or SubOrchestrationInstanceCreatedEvent or EventSentEvent or ExecutionSuspendedEvent))
        {
            _suspendedBuffer.Add(e);
            return true;
        }

        switch (e)
        {
            case OrchestratorStartedEvent os:
                _currentUtc = os.Timestamp;
                return true;
            case OrchestratorCompletedEvent:
                return true;
            case ExecutionStartedEvent es:
                Start(es);
                break;
            case ExecutionTerminatedEvent et:
                if (_finished) return false;
                Finish(OrchestrationRuntimeStatus.Terminated, et.Input, null);
                return true;
            case ExecutionSuspendedEvent:
                if (_finished) return false;
                _suspended = true;
                _status = OrchestrationRuntimeStatus.Suspended;
                return true;
            case ExecutionResumedEvent:
                if (!_suspended) return true;
                _suspended = false;
                _status = OrchestrationRuntimeStatus.Running;
                var held = _suspendedBuffer.ToList();
                _suspendedBuffer.Clear();
                foreach (var h in held) ProcessEvent(h);
                return true;
            case TaskScheduledEvent or TimerCreatedEvent or SubOrchestrationInstanceCreatedEvent or EventSentEvent:
                ConfirmReplayedAction(e);
                return true;
            case TaskCompletedEvent tc:
                return CompleteOpenTask(tc.TaskScheduledId, t => t.Complete(tc.Result, null));
            case TaskFailedEvent tf:
                return CompleteOpenTask(tf.TaskScheduledId, t => t.Complete(null, tf.FailureDetails));
            case SubOrchestrationInstanceCompletedEvent sc:
                return CompleteOpenTask(sc.TaskScheduledId, t => t.Complete(sc.Result, null));
            case SubOrchestrationInstanceFailedEvent sf:
                return CompleteOpenTask(sf.TaskScheduledId, t => t.Complete(null, sf.FailureDetails));
            case TimerFiredEvent tfired:
                return CompleteOpenTask(tfired.TimerId, t => t.Complete(null, null));
            case EventRaisedEvent er:
                DeliverEvent(er);
                break;
            case ExecutionCompletedEvent or ContinueAsNewEvent:
                return true;
            default:
                return true;
        }
        _syncContext.Drain();
        CheckCompletion();
        return true;
    }

    private void Start(ExecutionStartedEvent es)
    {
        if (_started != null) return; // duplicate start message
        _started = es;
        _status = OrchestrationRuntimeStatus.Running;
        if (!_registry.TryCreateOrchestrator(es.Name, out var orchestrator))
        {
            Finish(OrchestrationRuntimeStatus.Failed, null, new TaskFailureDetails(
                "OrchestratorNotFound", $"No orchestrator named '{es.Name}' is registered with this worker."));
            return;
        }
        _context = new ContextImpl(this);
        object? input;
        try
        {
            input = _converter.Deserialize(es.Input, orchestrator!.InputType);
        }
        catch (Exception ex)
        {
            Finish(OrchestrationRuntimeStatus.Failed, null, TaskFailureDetails.FromException(ex));
            return;
        }
        _context.Input = input;
        try
        {
            _orchestratorTask = orchestrator.RunAsync(_context, input);
        }
        catch (Exception ex)
        {
            _orchestratorTask = Task.FromException<object?>(ex);
        }
    }

    private void CheckCompletion()
    {
        _syncContext.Drain();
        if (_finished || _orchestratorTask is not { IsCompleted: true } task) return;
        if (_fatal != null) return;
        if (task.IsFaulted)
        {
            var ex = task.Exception!.InnerExceptions.Count == 1 ? task.Exception.InnerException! : task.Exception;
            if (ex is NonDeterministicOrchestrationException) _fatal = ex;
            Finish(OrchestrationRuntimeStatus.Failed, null, TaskFailureDetails.FromException(ex));
        }
        else if (task.IsCanceled)
        {
            Finish(OrchestrationRuntimeStatus.Failed, null, new TaskFailureDetails(typeof(TaskCanceledException).FullName!, "The orchestrator was canceled."));
        }
        else if (_continueAsNew is { } can)
        {
            Finish(OrchestrationRuntimeStatus.ContinuedAsNew, can.Input, null);
        }
        else
        {
            string? output;
            try
            {
                output = _converter.Serialize(task.Result);
            }
            catch (Exception ex)
            {
                Finish(OrchestrationRuntimeStatus.Failed, null, TaskFailureDetails.FromException(ex));
                return;
            }
            Finish(OrchestrationRuntimeStatus.Completed, output, null);
        }
    }

    private void Finish(OrchestrationRuntimeStatus status, string? output, TaskFailureDetails? failure)
    {
        if (_finished) return;
        _finished = true;
        _status = status;
        _output = output;
        _failure = failure;
        if (_isReplaying) return;
        Append(new ExecutionCompletedEvent { OrchestrationStatus = status, Result = output, FailureDetails = failure, Timestamp = _currentUtc });
        if (_started?.ParentInstance is { } parent && status != OrchestrationRuntimeStatus.ContinuedAsNew)
        {
            HistoryEvent toParent = status == OrchestrationRuntimeStatus.Completed
                ? new SubOrchestrationInstanceCompletedEvent { TaskScheduledId = parent.TaskScheduledId, Result = output }
                : new SubOrchestrationInstanceFailedEvent
                {
                    TaskScheduledId = parent.TaskScheduledId,
                    FailureDetails = failure ?? new TaskFailureDetails("OrchestrationTerminated", $"Sub-orchestration '{InstanceId}' was {status.ToString().ToLowerInvariant()}: {output}"),
                };
            _messages.Add(new OrchestrationMessage(parent.InstanceId, toParent));
        }
    }

    private bool CompleteOpenTask(int id, Action<OpenTask> complete)
    {
        if (!_openTasks.Remove(id, out var task)) return false; // duplicate or stale (e.g. a cancelled timer)
        complete(task);
        _syncContext.Drain();
        CheckCompletion();
        return true;
    }

    private void DeliverEvent(EventRaisedEvent er)
    {
        if (_eventWaiters.TryGetValue(er.Name, out var waiters) && waiters.First is { } first)
        {
            waiters.RemoveFirst();
            first.Value.Deliver(er.Input);
        }
        else
        {
            _bufferedEvents.Add(er);
        }
    }

    // ---- actions ----

    private abstract record PendingAction(int Id, string Kind, string Name);
    private sealed record ScheduleTaskAction(int Id, string Name, string? Input) : PendingAction(Id, "activity", Name);
    private sealed record TimerAction(int Id, DateTime FireAt) : PendingAction(Id, "timer", "timer");
    private sealed record SubOrchestrationAction(int Id, string Name, string ChildId, string? Input, string ExecutionId) : PendingAction(Id, "sub-orchestration", Name);
    private sealed record SendEventAction(int Id, string TargetId, string Name, string? Input) : PendingAction(Id, "event to another instance", Name);

    private void AddAction(PendingAction action)
    {
        if (_isReplaying) _pendingReplayActions[action.Id] = action;
        else Emit(action);
    }

    private void Emit(PendingAction action)
    {
        switch (action)
        {
            case ScheduleTaskAction s:
            {
                var pool = _poolOf(s.Name);
                var e = new TaskScheduledEvent { EventId = s.Id, Name = s.Name, Input = s.Input, Pool = pool, Timestamp = _currentUtc };
                _newEvents.Add(e);
                _activities.Add(new ActivityMessage(InstanceId, _started!.ExecutionId, e));
                break;
            }
            case TimerAction t:
                _newEvents.Add(new TimerCreatedEvent { EventId = t.Id, FireAt = t.FireAt, Timestamp = _currentUtc });
                _messages.Add(new OrchestrationMessage(InstanceId, new TimerFiredEvent { TimerId = t.Id, FireAt = t.FireAt }, t.FireAt));
                break;
            case SubOrchestrationAction so:
                _newEvents.Add(new SubOrchestrationInstanceCreatedEvent { EventId = so.Id, Name = so.Name, InstanceId = so.ChildId, Input = so.Input, Timestamp = _currentUtc });
                _messages.Add(new OrchestrationMessage(so.ChildId, new ExecutionStartedEvent
                {
                    Name = so.Name,
                    InstanceId = so.ChildId,
                    ExecutionId = so.ExecutionId,
                    Input = so.Input,
                    ParentInstance = new ParentInstanceInfo(_started!.Name, InstanceId, _started.ExecutionId, so.Id),
                }));
                break;
            case SendEventAction se:
                _newEvents.Add(new EventSentEvent { EventId = se.Id, InstanceId = se.TargetId, Name = se.Name, Input = se.Input, Timestamp = _currentUtc });
                _messages.Add(new OrchestrationMessage(se.TargetId, new EventRaisedEvent { Name = se.Name, Input = se.Input }));
                break;
        }
    }

    private void ConfirmReplayedAction(HistoryEvent e)
    {
        if (!_isReplaying) return;
        var (kind, name) = e switch
        {
            TaskScheduledEvent ts => ("activity", ts.Name),
            TimerCreatedEvent => ("timer", "timer"),
            SubOrchestrationInstanceCreatedEvent so => ("sub-orchestration", so.Name),
            EventSentEvent es => ("event to another instance", es.Name),
            _ => ("?", "?"),
        };
        if (!_pendingReplayActions.Remove(e.EventId, out var action))
        {
            _fatal ??= new NonDeterministicOrchestrationException(
                $"Non-deterministic orchestration '{_started?.Name}' (instance '{InstanceId}'): history has {kind} '{name}' with id {e.EventId}, " +
                "but the orchestrator code, when replayed, did not schedule anything with that id.");
            return;
        }
        if (action.Kind != kind || !string.Equals(action.Name, name, StringComparison.OrdinalIgnoreCase))
        {
            _fatal ??= new NonDeterministicOrchestrationException(
                $"Non-deterministic orchestration '{_started?.Name}' (instance '{InstanceId}'): history expected {kind} '{name}' with id {e.EventId}, " +
                $"but the orchestrator code now scheduled {action.Kind} '{action.Name}'.");
        }
    }

    private Guid NewGuidCore()
    {
        // Name-based (RFC 4122 version 5 style) GUID from values that are identical on replay.
        var name = $"{InstanceId}_{_currentUtc:o}_{_guidCounter++}";
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes(name));
        var bytes = hash.AsSpan(0, 16).ToArray();
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes);
    }

    // ---- open tasks ----

    private sealed class OpenTask(Action<string?, TaskFailureDetails?> complete)
    {
        public void Complete(string? result, TaskFailureDetails? failure) => complete(result, failure);
    }

    private sealed class EventWaiter(Action<string?> deliver)
    {
        public void Deliver(string? input) => deliver(input);
    }

    private Task<T> ScheduleAndWait<T>(PendingAction action, string taskName)
    {
        var tcs = new TaskCompletionSource<T>();
        _openTasks[action.Id] = new OpenTask((result, failure) =>
        {
            if (failure != null)
            {
                tcs.TrySetException(new TaskFailedException(taskName, action.Id, failure));
                return;
            }
            try
            {
                tcs.TrySetResult(_converter.Deserialize<T>(result)!);
            }
            catch (Exception ex)
            {
                tcs.TrySetException(ex);
            }
        });
        AddAction(action);
        return tcs.Task;
    }

    private sealed class ContextImpl(OrchestrationExecutor x) : TaskOrchestrationContext
    {
        public object? Input { get; set; }

        public override TaskName Name => x._started!.Name;
        public override string InstanceId => x.InstanceId;
        public override ParentInstanceInfo? Parent => x._started!.ParentInstance;
        public override DateTime CurrentUtcDateTime => x._currentUtc;
        public override bool IsReplaying => x._isReplaying;

        public override T? GetInput<T>() where T : default => Input is T t ? t : x._converter.Deserialize<T>(x._started!.Input);

        public override Task<TResult> CallActivityAsync<TResult>(TaskName name, object? input = null, TaskOptions? options = null)
        {
            var serialized = x._converter.Serialize(input);
            return WithRetry(options?.Retry, () =>
                x.ScheduleAndWait<TResult>(new ScheduleTaskAction(x._nextSequence++, name.Name, serialized), name.Name));
        }

        public override Task<TResult> CallSubOrchestratorAsync<TResult>(TaskName orchestratorName, object? input = null, TaskOptions? options = null)
        {
            var serialized = x._converter.Serialize(input);
            var explicitId = (options as SubOrchestrationOptions)?.InstanceId;
            return WithRetry(options?.Retry, () =>
            {
                var id = x._nextSequence++;
                var childId = explicitId ?? $"{x.InstanceId}:{id:X4}";
                var execId = x.NewGuidCore().ToString("N");
                return x.ScheduleAndWait<TResult>(new SubOrchestrationAction(id, orchestratorName.Name, childId, serialized, execId), orchestratorName.Name);
            });
        }

        private async Task<TResult> WithRetry<TResult>(RetryPolicy? policy, Func<Task<TResult>> call)
        {
            if (policy is null) return await call();
            var firstAttempt = x._currentUtc;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await call();
                }
                catch (TaskFailedException ex) when (attempt < policy.MaxNumberOfAttempts
                    && (policy.HandleFailure?.Invoke(ex.FailureDetails) ?? true)
                    && (policy.RetryTimeout == Timeout.InfiniteTimeSpan || x._currentUtc - firstAttempt < policy.RetryTimeout))
                {
                    await CreateTimer(policy.GetDelay(attempt), CancellationToken.None);
                }
            }
        }

        public override Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken)
        {
            var id = x._nextSequence++;
            var tcs = new TaskCompletionSource();
            x._openTasks[id] = new OpenTask((_, _) => tcs.TrySetResult());
            x.AddAction(new TimerAction(id, fireAt.Kind == DateTimeKind.Utc ? fireAt : fireAt.ToUniversalTime()));
            if (cancellationToken.CanBeCanceled)
            {
                cancellationToken.Register(() => tcs.TrySetCanceled(cancellationToken));
            }
            return tcs.Task;
        }

        public override Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default)
        {
            ArgumentException.ThrowIfNullOrEmpty(eventName);
            var tcs = new TaskCompletionSource<T>();
            void Deliver(string? data)
            {
                try
                {
                    tcs.TrySetResult(x._converter.Deserialize<T>(data)!);
                }
                catch (Exception ex)
                {
                    tcs.TrySetException(ex);
                }
            }
            var buffered = x._bufferedEvents.FindIndex(b => string.Equals(b.Name, eventName, StringComparison.OrdinalIgnoreCase));
            if (buffered >= 0)
            {
                var e = x._bufferedEvents[buffered];
                x._bufferedEvents.RemoveAt(buffered);
                Deliver(e.Input);
                return tcs.Task;
            }
            if (!x._eventWaiters.TryGetValue(eventName, out var list)) x._eventWaiters[eventName] = list = new LinkedList<EventWaiter>();
            var node = list.AddLast(new EventWaiter(Deliver));
            if (cancellationToken.CanBeCanceled)
            {
                cancellationToken.Register(() =>
                {
                    if (node.List != null) list.Remove(node);
                    tcs.TrySetCanceled(cancellationToken);
                });
            }
            return tcs.Task;
        }

        public override void SendEvent(string instanceId, string eventName, object? payload)
        {
            ArgumentException.ThrowIfNullOrEmpty(instanceId);
            ArgumentException.ThrowIfNullOrEmpty(eventName);
            x.AddAction(new SendEventAction(x._nextSequence++, instanceId, eventName, x._converter.Serialize(payload)));
        }

        public override void SetCustomStatus(object? customStatus)
        {
            x._customStatus = x._converter.Serialize(customStatus);
        }

        public override void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true) =>
            x._continueAsNew = (x._converter.Serialize(newInput), preserveUnprocessedEvents);

        public override Guid NewGuid() => x.NewGuidCore();

        public override ILogger CreateReplaySafeLogger(string categoryName) =>
            new ReplaySafeLogger(x._loggerFactory.CreateLogger(categoryName), this);
    }

    private sealed class ReplaySafeLogger(ILogger inner, TaskOrchestrationContext context) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);
        public bool IsEnabled(LogLevel logLevel) => !context.IsReplaying && inner.IsEnabled(logLevel);
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!context.IsReplaying) inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}

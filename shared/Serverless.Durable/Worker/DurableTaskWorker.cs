using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Durable.Backend;
using Serverless.Durable.Core;
using Serverless.Durable.History;

namespace Serverless.Durable;

/// <summary>
/// Runs orchestration turns and activities from a backend: one dispatch loop per kind leases as many work
/// items as there are free slots and runs them concurrently. Activities run at least once; an orchestration
/// turn is committed atomically or not at all, so a crash at any point is repaired by replay.
/// </summary>
public sealed class DurableTaskWorker : IAsyncDisposable
{
    private readonly IOrchestrationBackend _backend;
    private readonly DurableTaskRegistry _registry;
    private readonly DurableTaskWorkerOptions _options;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly ExecutorCache _cache;
    private CancellationTokenSource? _stopping;
    private readonly List<Task> _loops = [];
    private readonly HashSet<Task> _running = [];
    private readonly SemaphoreSlim _activitySlots;
    private readonly SemaphoreSlim _orchestrationSlots;
    private readonly Lock _runningLock = new();

    /// <summary>Creates a worker; call <see cref="StartAsync"/> to begin.</summary>
    public DurableTaskWorker(IOrchestrationBackend backend, DurableTaskRegistry registry, DurableTaskWorkerOptions? options = null,
        ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(registry);
        _backend = backend;
        _registry = registry;
        _options = options ?? new DurableTaskWorkerOptions();
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<DurableTaskWorker>();
        _time = timeProvider ?? TimeProvider.System;
        _cache = new ExecutorCache(_options.MaxCachedOrchestrations);
        _activitySlots = new SemaphoreSlim(_options.MaxConcurrentActivityFunctions, _options.MaxConcurrentActivityFunctions);
        _orchestrationSlots = new SemaphoreSlim(_options.MaxConcurrentOrchestratorFunctions, _options.MaxConcurrentOrchestratorFunctions);
    }

    /// <summary>The options in effect.</summary>
    public DurableTaskWorkerOptions Options => _options;

    /// <summary>Starts the dispatch loops.</summary>
    public async Task StartAsync(CancellationToken cancellation = default)
    {
        if (_stopping != null) throw new InvalidOperationException("The worker is already started.");
        await _backend.InitializeAsync(cancellation).ConfigureAwait(false);
        _stopping = new CancellationTokenSource();
        var token = _stopping.Token;
        if (_options.ServeOrchestrations)
            _loops.Add(Task.Run(() => DispatchLoopAsync(WorkKind.Orchestration, _options.MaxConcurrentOrchestratorFunctions, token), CancellationToken.None));
        if (_options.Pools.Count > 0)
        {
            _loops.Add(Task.Run(() => DispatchLoopAsync(WorkKind.Activity, _options.MaxConcurrentActivityFunctions, token), CancellationToken.None));
            _loops.Add(Task.Run(() => HeartbeatLoopAsync(token), CancellationToken.None));
        }
        _logger.LogInformation("Durable worker {WorkerId} started (orchestrations: {Orch}, pools: {Pools}).",
            _options.WorkerId, _options.ServeOrchestrations, string.Join(",", _options.Pools));
    }

    /// <summary>Stops leasing new work and waits for work in progress to finish (or the token to fire).</summary>
    public async Task StopAsync(CancellationToken cancellation = default)
    {
        if (_stopping == null) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_loops).WaitAsync(cancellation).ConfigureAwait(false);
            Task[] running;
            lock (_runningLock) running = _running.ToArray();
            await Task.WhenAll(running).WaitAsync(cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutdown deadline reached: leases expire and other workers take over.
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping?.Dispose();
    }

    private async Task HeartbeatLoopAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _backend.HeartbeatAsync(_options.WorkerId, _options.Pools, token).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromSeconds(5), _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Heartbeat failed; retrying.");
                await Task.Delay(TimeSpan.FromSeconds(1), token).ConfigureAwait(false);
            }
        }
    }

    private async Task DispatchLoopAsync(WorkKind kind, int maxConcurrent, CancellationToken token)
    {
        var signal = _backend.GetWorkSignal(kind);
        var slots = kind == WorkKind.Activity ? _activitySlots : _orchestrationSlots;
        var pollDelay = TimeSpan.FromMilliseconds(1);
        var failures = 0;
        while (!token.IsCancellationRequested)
        {
            try
            {
                // Wait for one free slot, then take every other free slot without waiting.
                await slots.WaitAsync(token).ConfigureAwait(false);
                var free = 1;
                while (slots.Wait(0)) free++;
                var started = 0;
                var generation = signal.Generation;
                try
                {
                    if (kind == WorkKind.Orchestration)
                    {
                        var items = await _backend.LockNextOrchestrationWorkItemsAsync(free, _options.LockTimeout, token).ConfigureAwait(false);
                        foreach (var item in items) { Track(ProcessOrchestrationAsync(item, token), slots); started++; }
                    }
                    else
                    {
                        var items = await _backend.LockNextActivityWorkItemsAsync(_options.Pools, free, _options.LockTimeout, token).ConfigureAwait(false);
                        foreach (var item in items) { Track(ProcessActivityAsync(item, token), slots); started++; }
                    }
                }
                finally
                {
                    if (free > started) slots.Release(free - started);
                }
                if (failures > 0)
                {
                    _logger.LogInformation("Backend reachable again after {Failures} failed attempts ({Kind} dispatch).", failures, kind);
                    failures = 0;
                }
                if (started == 0)
                {
                    await signal.WaitAsync(generation, pollDelay, token).ConfigureAwait(false);
                    pollDelay = TimeSpan.FromTicks(Math.Min(pollDelay.Ticks * 2, _options.MaxPollingInterval.Ticks));
                }
                else
                {
                    pollDelay = TimeSpan.FromMilliseconds(1);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(100 * Math.Pow(2, Math.Min(failures, 6)), 5000));
                _logger.LogError(ex, "{Kind} dispatch failed (attempt {Attempt}); retrying in {Delay} ms: {Message}", kind, failures, delay.TotalMilliseconds, ex.Message);
                try { await Task.Delay(delay, token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    private void Track(Task work, SemaphoreSlim slots)
    {
        lock (_runningLock) _running.Add(work);
        work.ContinueWith(t =>
        {
            lock (_runningLock) _running.Remove(t);
            slots.Release();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task ProcessOrchestrationAsync(OrchestrationWorkItem item, CancellationToken token)
    {
        await Task.Yield();
        try
        {
            OrchestrationTurnResult result;
            if (item.Status.IsTerminal())
            {
                // Messages for a finished instance (late activity results, events) are discarded.
                result = new OrchestrationTurnResult
                {
                    ExecutionId = item.ExecutionId ?? "", NewEvents = [], Activities = [], Messages = [], Status = item.Status, Name = "",
                };
                await _backend.CompleteOrchestrationWorkItemAsync(item, result, null, token).ConfigureAwait(false);
                return;
            }
            var executor = _cache.Take(item.InstanceId);
            if (executor == null || executor.ExecutionId != item.ExecutionId || executor.HistoryCount != item.HistoryCount || executor.IsFinished)
            {
                executor = new OrchestrationExecutor(item.InstanceId, _registry, _options.DataConverter,
                    name => _options.ResolvePool(_registry, name), _loggerFactory);
                if (item.HistoryCount > 0)
                {
                    var history = await _backend.LoadHistoryAsync(item, token).ConfigureAwait(false);
                    executor.Replay(history);
                }
            }
            result = executor.ExecuteTurn(item.Messages, _time.GetUtcNow().UtcDateTime);
            await CommitTurnAsync(item, result, token).ConfigureAwait(false);
            if (!executor.IsFinished) _cache.Put(executor);
            if (result.Status is OrchestrationRuntimeStatus.Failed)
                _logger.LogWarning("Orchestration {InstanceId} failed: {Failure}", item.InstanceId, result.FailureDetails);
        }
        catch (WorkItemLockLostException ex)
        {
            _logger.LogWarning("{Message}", ex.Message);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Shutting down: the lease expires and the turn is replayed elsewhere.
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Orchestration turn of {InstanceId} failed; it will be retried.", item.InstanceId);
            try
            {
                await _backend.AbandonOrchestrationWorkItemAsync(item, TimeSpan.FromSeconds(1), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception abandonError)
            {
                _logger.LogWarning(abandonError, "Could not abandon work item of {InstanceId}; its lease will expire.", item.InstanceId);
            }
        }
    }

    /// <summary>Commits a turn; activities of pools this worker serves are leased to it in the same commit
    /// (as many as it has free slots) and started at once.</summary>
    private async Task CommitTurnAsync(OrchestrationWorkItem item, OrchestrationTurnResult result, CancellationToken token)
    {
        var local = _options.Pools.Count == 0 ? 0 : result.Activities.Count(a => _options.Pools.Contains(a.Scheduled.Pool));
        var reserved = 0;
        while (reserved < local && _activitySlots.Wait(0)) reserved++;
        IReadOnlyList<ActivityWorkItem> leased = [];
        try
        {
            leased = await _backend.CompleteOrchestrationWorkItemAsync(item, result,
                reserved > 0 ? new LocalActivityLease(_options.Pools, reserved, _options.LockTimeout) : null, token).ConfigureAwait(false);
        }
        finally
        {
            foreach (var a in leased) Track(ProcessActivityAsync(a, token), _activitySlots);
            if (reserved > leased.Count) _activitySlots.Release(reserved - leased.Count);
        }
    }

    private async Task ProcessActivityAsync(ActivityWorkItem item, CancellationToken token)
    {
        await Task.Yield();
        var scheduled = item.Message.Scheduled;
        using var renewal = new CancellationTokenSource();
        var renewTask = RenewLoopAsync(item, renewal.Token);
        HistoryEvent outcome;
        try
        {
            outcome = await RunActivityAsync(item, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            await renewal.CancelAsync().ConfigureAwait(false);
            await renewTask.ConfigureAwait(false);
            try { await _backend.AbandonActivityWorkItemAsync(item, CancellationToken.None).ConfigureAwait(false); }
            catch (Exception ex) { _logger.LogWarning(ex, "Could not abandon activity {Name}.", scheduled.Name); }
            return;
        }
        await renewal.CancelAsync().ConfigureAwait(false);
        await renewTask.ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            var reserved = _options.ServeOrchestrations && _orchestrationSlots.Wait(0);
            try
            {
                if (!reserved)
                {
                    await _backend.CompleteActivityWorkItemAsync(item, outcome, CancellationToken.None).ConfigureAwait(false);
                    return;
                }
                // The orchestration's next turn may be leased to this worker in the same commit.
                var next = await _backend.CompleteActivityWorkItemAndLockAsync(item, outcome, _options.LockTimeout, CancellationToken.None).ConfigureAwait(false);
                if (next != null)
                {
                    reserved = false;
                    Track(ProcessOrchestrationAsync(next, token), _orchestrationSlots);
                }
                return;
            }
            catch (Exception ex) when (attempt < 10 && !token.IsCancellationRequested)
            {
                _logger.LogWarning(ex, "Completing activity {Name} of {InstanceId} failed (attempt {Attempt}); retrying.", scheduled.Name, item.Message.InstanceId, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Giving up completing activity {Name} of {InstanceId}; its lease will expire and it will run again.", scheduled.Name, item.Message.InstanceId);
                return;
            }
            finally
            {
                if (reserved) _orchestrationSlots.Release();
            }
        }
    }

    private async Task<HistoryEvent> RunActivityAsync(ActivityWorkItem item, CancellationToken token)
    {
        var scheduled = item.Message.Scheduled;
        if (!_registry.TryCreateActivity(scheduled.Name, out var activity))
        {
            return new TaskFailedEvent
            {
                TaskScheduledId = scheduled.EventId,
                FailureDetails = new TaskFailureDetails("ActivityNotFound",
                    $"No activity named '{scheduled.Name}' is registered with worker {_options.WorkerId} (pool '{scheduled.Pool}')."),
            };
        }
        try
        {
            var input = _options.DataConverter.Deserialize(scheduled.Input, activity!.InputType);
            var context = new ActivityContext(scheduled.Name, item.Message.InstanceId, scheduled.EventId, token);
            var output = await activity.RunAsync(context, input).ConfigureAwait(false);
            return new TaskCompletedEvent { TaskScheduledId = scheduled.EventId, Result = _options.DataConverter.Serialize(output) };
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            return new TaskFailedEvent { TaskScheduledId = scheduled.EventId, FailureDetails = TaskFailureDetails.FromException(ex) };
        }
    }

    private async Task RenewLoopAsync(ActivityWorkItem item, CancellationToken token)
    {
        var interval = TimeSpan.FromTicks(Math.Max(_options.LockTimeout.Ticks / 3, TimeSpan.FromMilliseconds(100).Ticks));
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, token).ConfigureAwait(false);
                if (!await _backend.RenewActivityWorkItemLockAsync(item, _options.LockTimeout, token).ConfigureAwait(false))
                {
                    _logger.LogWarning("Lease of activity {Name} ({InstanceId}#{TaskId}) was lost; another worker may run it too.",
                        item.Message.Scheduled.Name, item.Message.InstanceId, item.Message.Scheduled.EventId);
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Renewing the lease of activity {Name} failed; retrying.", item.Message.Scheduled.Name);
            }
        }
    }

    private sealed class ActivityContext(string name, string instanceId, int taskId, CancellationToken token) : TaskActivityContext
    {
        public override TaskName Name => name;
        public override string InstanceId => instanceId;
        public override int TaskId => taskId;
        public override CancellationToken CancellationToken => token;
    }

    /// <summary>Executors kept between turns, bounded, least recently used evicted first.</summary>
    private sealed class ExecutorCache(int capacity)
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, LinkedListNode<OrchestrationExecutor>> _map = new(StringComparer.Ordinal);
        private readonly LinkedList<OrchestrationExecutor> _lru = new();

        public OrchestrationExecutor? Take(string instanceId)
        {
            lock (_lock)
            {
                if (!_map.Remove(instanceId, out var node)) return null;
                _lru.Remove(node);
                return node.Value;
            }
        }

        public void Put(OrchestrationExecutor executor)
        {
            if (capacity <= 0) return;
            lock (_lock)
            {
                if (_map.Remove(executor.InstanceId, out var old)) _lru.Remove(old);
                _map[executor.InstanceId] = _lru.AddFirst(executor);
                while (_map.Count > capacity)
                {
                    var last = _lru.Last!;
                    _lru.RemoveLast();
                    _map.Remove(last.Value.InstanceId);
                }
            }
        }
    }
}

using System.Collections.Concurrent;

namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// In-process wake-ups of one task hub: the orchestration and activity dispatchers, the extended sessions (one signal
/// per locked instance) and the clients waiting for an instance to finish. Shared by every service of the process that
/// uses the same file and hub, so two workers in one process wake each other without polling.
/// </summary>
internal sealed class HubSignals
{
    private readonly ConcurrentDictionary<string, AsyncSignal> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _stateChanges = new(StringComparer.Ordinal);

    /// <summary>Pulsed when an orchestration may have become ready.</summary>
    public AsyncSignal Orchestrations { get; } = new();

    /// <summary>Pulsed when an activity task may be waiting.</summary>
    public AsyncSignal Activities { get; } = new();

    /// <summary>Registers the extended session of a locked instance; its messages then wake the session, not a dispatcher.</summary>
    public AsyncSignal RegisterSession(string instanceId)
    {
        var signal = new AsyncSignal();
        _sessions[instanceId] = signal;
        return signal;
    }

    /// <summary>Removes a session registration (only the given one: a newer session of the same instance stays).</summary>
    public void UnregisterSession(string instanceId, AsyncSignal signal) =>
        _sessions.TryRemove(new KeyValuePair<string, AsyncSignal>(instanceId, signal));

    /// <summary>A message for <paramref name="instanceId"/> was committed.</summary>
    public void MessageArrived(string instanceId)
    {
        if (_sessions.TryGetValue(instanceId, out var session)) session.Pulse();
        else Orchestrations.Pulse();
    }

    /// <summary>A task that waits until the next state change of the instance that this process commits.</summary>
    public Task StateChanged(string instanceId) =>
        _stateChanges.GetOrAdd(instanceId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>The instance's runtime status changed (or it was purged): wake clients waiting for it.</summary>
    public void InstanceChanged(string instanceId)
    {
        if (_stateChanges.TryRemove(instanceId, out var tcs)) tcs.TrySetResult();
    }

    /// <summary>Another process (or another store of this process) committed: everyone re-reads.</summary>
    public void ExternalChange()
    {
        Orchestrations.Pulse();
        Activities.Pulse();
        foreach (var s in _sessions.Values) s.Pulse();
        foreach (var id in _stateChanges.Keys) InstanceChanged(id);
    }
}

using System.Collections.Concurrent;

namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// In-process wake-ups of one task hub: the orchestration and activity dispatchers, the extended sessions (one signal
/// per locked instance) and the clients waiting for an instance to finish. Shared by every service of the process that
/// uses the same file and hub, so two workers in one process wake each other without polling.
/// </summary>
internal sealed class HubSignals
{
    private readonly ConcurrentDictionary<string, SessionInbox> _sessions = new(StringComparer.Ordinal);
    private long _externalVersion;
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _stateChanges = new(StringComparer.Ordinal);

    /// <summary>Pulsed when an orchestration may have become ready.</summary>
    public AsyncSignal Orchestrations { get; } = new();

    /// <summary>Pulsed when an activity task may be waiting.</summary>
    public AsyncSignal Activities { get; } = new();

    /// <summary>Counts the commits of other processes seen so far: a session re-reads the file when it changed.</summary>
    public long ExternalVersion => Volatile.Read(ref _externalVersion);

    /// <summary>Registers the extended session of a locked instance; its messages then go to the session, not a dispatcher.</summary>
    public SessionInbox RegisterSession(string instanceId)
    {
        var inbox = new SessionInbox();
        _sessions[instanceId] = inbox;
        return inbox;
    }

    /// <summary>Removes a session registration (only the given one: a newer session of the same instance stays).</summary>
    public void UnregisterSession(string instanceId, SessionInbox inbox) =>
        _sessions.TryRemove(new KeyValuePair<string, SessionInbox>(instanceId, inbox));

    /// <summary>
    /// Something for <paramref name="instanceId"/> was committed: a stored message (handed to its session, if it has one
    /// in this process) or a change without one (a new instance, a termination): then a dispatcher is woken.
    /// </summary>
    public void MessageArrived(string instanceId, PendingMessage? message = null)
    {
        if (_sessions.TryGetValue(instanceId, out var session))
        {
            if (message is { } m) session.Queue.Enqueue(m);
            session.Signal.Pulse();
        }
        else
        {
            Orchestrations.Pulse();
        }
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
        Interlocked.Increment(ref _externalVersion);
        Orchestrations.Pulse();
        Activities.Pulse();
        foreach (var s in _sessions.Values) s.Signal.Pulse();
        foreach (var id in _stateChanges.Keys) InstanceChanged(id);
    }
}

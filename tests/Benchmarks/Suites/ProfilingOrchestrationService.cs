using System.Collections.Concurrent;
using System.Diagnostics;
using DurableTask.Core;
using Serverless.Hosting.Providers;

namespace Benchmarks.Suites;

/// <summary>
/// A stopwatch breakdown of one orchestration's critical path (<c>durable --backend sqlite --profile true</c>): wraps a provider,
/// forwards every call, and splits each step of a sequential orchestration into the time spent in DTFx (turn, activity
/// dispatch), in the provider's calls, and in the wake-ups between them. Only meaningful with one instance running.
/// </summary>
internal sealed class ProfilingOrchestrationService(IOrchestrationService inner) : ForwardingOrchestrationService(inner)
{
    private readonly ConcurrentDictionary<string, (long Count, long Ticks)> _segments = new();
    // Timestamps (Stopwatch ticks) of the last point of each kind on the critical path:
    // turn ends (commit called) -> activity handed to DTFx -> activity result committed (called) -> session/lock has it -> turn ends.
    private long _turnEnded;
    private long _activityCompleting;

    private void Add(string segment, long fromTicks)
    {
        var elapsed = Stopwatch.GetTimestamp() - fromTicks;
        if (fromTicks == 0 || elapsed < 0) return;
        _segments.AddOrUpdate(segment, (1, elapsed), (_, v) => (v.Count + 1, v.Ticks + elapsed));
    }

    /// <summary>Forgets what was measured so far (after a warm-up).</summary>
    public void Reset() => _segments.Clear();

    /// <summary>Segment name, count, mean microseconds.</summary>
    public IEnumerable<(string Segment, long Count, double MeanMicroseconds)> Report() =>
        _segments.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (kv.Key, kv.Value.Count, kv.Value.Ticks * 1e6 / Stopwatch.Frequency / kv.Value.Count));

    public override async Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        var item = await Inner.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken);
        if (item == null) return item!;
        Add("3 commit activity result + wake + lock and load instance (no session)", Interlocked.Exchange(ref _activityCompleting, 0));
        item.Session = item.Session == null ? null : new Session(this, item.Session);
        Volatile.Write(ref _turnStart, Stopwatch.GetTimestamp());
        return item;
    }

    private long _turnStart;
    private long _activityStart;

    public override async Task CompleteTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem, OrchestrationRuntimeState newOrchestrationRuntimeState,
        IList<TaskMessage> outboundMessages, IList<TaskMessage> orchestratorMessages, IList<TaskMessage> timerMessages, TaskMessage continuedAsNewMessage,
        OrchestrationState orchestrationState)
    {
        Add("4 DTFx turn (replay or resume + orchestrator code)", Interlocked.Exchange(ref _turnStart, 0));
        var start = Stopwatch.GetTimestamp();
        Volatile.Write(ref _turnEnded, start);
        await Inner.CompleteTaskOrchestrationWorkItemAsync(workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages,
            continuedAsNewMessage, orchestrationState);
        Add("5 (overlaps 1) provider: commit turn, until DTFx resumes", start);
    }

    public override async Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        var item = await Inner.LockNextTaskActivityWorkItem(receiveTimeout, cancellationToken);
        if (item == null) return item!;
        Add("1 commit turn + wake activity dispatcher", Interlocked.Exchange(ref _turnEnded, 0));
        Volatile.Write(ref _activityStart, Stopwatch.GetTimestamp());
        return item;
    }

    public override async Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage)
    {
        Add("2 DTFx activity dispatch + activity code", Interlocked.Exchange(ref _activityStart, 0));
        var start = Stopwatch.GetTimestamp();
        Volatile.Write(ref _activityCompleting, start);
        await Inner.CompleteTaskActivityWorkItemAsync(workItem, responseMessage);
        Add("6 (overlaps 3) provider: commit activity result, until DTFx resumes", start);
    }

    private sealed class Session(ProfilingOrchestrationService owner, IOrchestrationSession inner) : IOrchestrationSession
    {
        public async Task<IList<TaskMessage>?> FetchNewOrchestrationMessagesAsync(TaskOrchestrationWorkItem workItem)
        {
            var messages = await inner.FetchNewOrchestrationMessagesAsync(workItem);
            if (messages != null)
            {
                owner.Add("3 commit activity result + wake session + read message", Interlocked.Exchange(ref owner._activityCompleting, 0));
                Volatile.Write(ref owner._turnStart, Stopwatch.GetTimestamp());
            }
            return messages;
        }

        public Task EndSessionAsync() => inner.EndSessionAsync();
    }
}

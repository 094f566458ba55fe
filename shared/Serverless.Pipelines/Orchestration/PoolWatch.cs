using Serverless.Durable;
using Serverless.Durable.Backend;

namespace Serverless.Pipelines.Orchestration;

/// <summary>
/// A component whose nodes run on a worker pool other than <c>default</c> unless the node names another pool (the
/// Trainer prefers <c>gpu</c>). A node that leaves <c>pool</c> at <c>default</c> takes the preferred pool.
/// </summary>
public interface IPreferredPool
{
    /// <summary>The pool, e.g. <c>gpu</c>.</summary>
    string PreferredPool { get; }
}

/// <summary>
/// A component whose node runs in its own pool but waits on work of another pool (the Tuner's trials run in
/// <c>gpu</c>): the pool watch reports that pool while the node runs.
/// </summary>
public interface IPoolDependent
{
    /// <summary>The pool the node's work waits on, or null when it waits on none.</summary>
    string? DependsOnPool { get; }
}

/// <summary>
/// Pool routing and the "no worker serves this pool" status. A node whose activity goes to a pool other than
/// <c>default</c> stays queued until a worker of that pool leases it; with the watch on, the orchestrator asks the
/// backend's worker heartbeats (<see cref="IOrchestrationBackend.GetLivePoolsAsync"/>, through the
/// <see cref="StatusActivityName"/> activity so the answer is recorded in history and replays deterministically)
/// while the node runs, and marks the node Pending with a message saying that no worker serves the pool.
/// </summary>
public static class PoolWatch
{
    /// <summary>The activity that answers whether a pool has a live worker (runs in <c>default</c>).</summary>
    public const string StatusActivityName = "PipelinePoolStatus";

    /// <summary>A pool counts as served when one of its workers wrote a heartbeat within this window (workers beat every 5 s).</summary>
    public static readonly TimeSpan HeartbeatWindow = TimeSpan.FromSeconds(20);

    /// <summary>The pool a node's activity goes to: the node's, or its component's preferred pool when the node leaves it at <c>default</c>.</summary>
    public static string PoolOf(PipelineNode node, ComponentRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(registry);
        var pool = node.Definition.Pool;
        return pool == WorkerPools.Default && registry.TryGet(node.Spec.Type, out var component) && component is IPreferredPool preferred
            ? preferred.PreferredPool
            : pool;
    }

    /// <summary>The pool whose liveness a node's status reports: its own pool when not <c>default</c>, else the pool its
    /// component depends on (<see cref="IPoolDependent"/>), else null (nothing to watch).</summary>
    public static string? WatchedPool(PipelineNode node, ComponentRegistry registry, string pool)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(registry);
        if (pool != WorkerPools.Default)
        {
            return pool;
        }

        return registry.TryGet(node.Spec.Type, out var component) && component is IPoolDependent { DependsOnPool: { Length: > 0 } other } && other != WorkerPools.Default
            ? other
            : null;
    }

    /// <summary>The status line of a node waiting for a pool without workers.</summary>
    public static string NoWorkerMessage(string pool) =>
        $"pending: no worker serves the '{pool}' pool (no heartbeat in the last {HeartbeatWindow.TotalSeconds:0} s); start a worker for it, e.g. the trainer app (functions/Serverless.TrainerApp) for 'gpu'";

    /// <summary>
    /// Registers the pipeline orchestrator with the pool watch on, the node activities of <paramref name="pools"/> and
    /// the <see cref="StatusActivityName"/> activity over <paramref name="backend"/>'s heartbeats. Use instead of
    /// <see cref="PipelineOrchestration.AddPipelineOrchestration"/> in a process that schedules nodes for pools
    /// another process serves (the function app). <paramref name="limits"/>: the host's (default <see cref="PipelineLimits.Default"/>).
    /// </summary>
    public static DurableTaskRegistry AddPipelineOrchestrationWithPoolWatch(
        this DurableTaskRegistry registry, ComponentRegistry components, NodeRunner runner, IEnumerable<string> pools, IOrchestrationBackend backend, TimeProvider? time = null, PipelineLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(components);
        ArgumentNullException.ThrowIfNull(backend);
        var clock = time ?? TimeProvider.System;
        registry.AddOrchestrator(PipelineOrchestrator.Name, () => new PipelineOrchestrator(components, watchPools: true, limits));
        registry.AddNodeActivities(runner, pools);
        registry.AddActivityFunc<string, bool>(StatusActivityName, async (context, pool) =>
        {
            try
            {
                var live = await backend.GetLivePoolsAsync(clock.GetUtcNow().UtcDateTime - HeartbeatWindow, context.CancellationToken).ConfigureAwait(false);
                return live.Contains(pool);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The watch only informs: a failed lookup must not fail the node whose activity is still queued.
                return true;
            }
        });
        return registry;
    }

    /// <summary>
    /// Awaits <paramref name="work"/> (a node activity in <paramref name="pool"/>), checking the pool's heartbeats at the
    /// start and then every 10 s doubling to 2 min, and reporting each change of liveness through <paramref name="onLiveness"/>.
    /// Orchestrator code: timers and the status activity are recorded in history.
    /// </summary>
    internal static async Task<T> AwaitWatchingAsync<T>(TaskOrchestrationContext context, string pool, Task<T> work, Action<bool> onLiveness)
    {
        bool? last = null;
        var interval = TimeSpan.FromSeconds(10);
        while (!work.IsCompleted)
        {
            var live = await context.CallActivityAsync<bool>(StatusActivityName, pool);
            if (live != last)
            {
                last = live;
                onLiveness(live);
            }

            if (work.IsCompleted)
            {
                break;
            }

            using var cancel = new CancellationTokenSource();
            var timer = context.CreateTimer(interval, cancel.Token);
            if (await Task.WhenAny(work, timer) == work)
            {
                cancel.Cancel();
                break;
            }

            interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, TimeSpan.FromMinutes(2).Ticks));
        }

        return await work;
    }
}

using Serverless.Durable;

namespace Serverless.Pipelines.Orchestration;

/// <summary>
/// Registers the pipeline orchestrator and its node activity with a durable worker. The activity is registered
/// once per worker pool under its own name (<c>RunPipelineNode</c> in <c>default</c>, <c>RunPipelineNode@gpu</c> in
/// <c>gpu</c>, ...), because the engine resolves an activity's pool from its name: a node's <c>pool</c> thus picks
/// the workers that run it.
/// </summary>
public static class PipelineOrchestration
{
    /// <summary>The node activity's name in the default pool.</summary>
    public const string ActivityBaseName = "RunPipelineNode";

    /// <summary>The node activity's name for a pool.</summary>
    public static string ActivityName(string pool) =>
        string.IsNullOrEmpty(pool) || pool == WorkerPools.Default ? ActivityBaseName : $"{ActivityBaseName}@{pool}";

    /// <summary>
    /// Registers <see cref="PipelineOrchestrator"/> and the node activity for each of <paramref name="pools"/>
    /// (default: <c>default</c>). The activity runs <paramref name="runner"/> and throws when the node failed, so
    /// the node's retry policy applies. <paramref name="limits"/>: the host's (default <see cref="PipelineLimits.Default"/>).
    /// </summary>
    public static DurableTaskRegistry AddPipelineOrchestration(this DurableTaskRegistry registry, ComponentRegistry components, NodeRunner runner, IEnumerable<string>? pools = null, PipelineLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(components);
        ArgumentNullException.ThrowIfNull(runner);
        registry.AddOrchestrator(PipelineOrchestrator.Name, () => new PipelineOrchestrator(components, limits: limits));
        AddNodeActivities(registry, runner, pools ?? [WorkerPools.Default]);
        return registry;
    }

    /// <summary>Registers only the node activity for <paramref name="pools"/> (an activity-only worker, e.g. the trainer app serving <c>gpu</c>).</summary>
    public static DurableTaskRegistry AddNodeActivities(this DurableTaskRegistry registry, NodeRunner runner, IEnumerable<string> pools)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(pools);
        foreach (var pool in pools.Distinct(StringComparer.Ordinal))
        {
            registry.AddActivityFunc<NodeRunRequest, NodeRunResult>(
                ActivityName(pool),
                async (context, request) => (await runner.RunAsync(request, context.CancellationToken).ConfigureAwait(false)).EnsureSucceeded(),
                pool);
        }

        return registry;
    }

    /// <summary>Routes the node activities of pools this worker does not serve to those pools (another process serves them).</summary>
    public static void RoutePools(DurableTaskWorkerOptions options, IEnumerable<string> pools)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(pools);
        foreach (var pool in pools)
        {
            options.ActivityPools[ActivityName(pool)] = pool;
        }
    }
}

using Serverless.Durable.Backend;

namespace Serverless.Durable;

/// <summary>How a worker process dispatches work. Defaults suit one process on a small machine.</summary>
public sealed class DurableTaskWorkerOptions
{
    /// <summary>The activity pools this worker serves. Default: <c>["default"]</c>. The trainer app serves only <c>["gpu"]</c>.</summary>
    public IReadOnlyCollection<string> Pools { get; set; } = [WorkerPools.Default];

    /// <summary>Whether this worker runs orchestration turns. Default true; false for pure activity workers (e.g. the trainer app).</summary>
    public bool ServeOrchestrations { get; set; } = true;

    /// <summary>Activities run at once (host.json <c>maxConcurrentActivityFunctions</c>). Default 10 x processors, as Durable Functions.</summary>
    public int MaxConcurrentActivityFunctions { get; set; } = 10 * Environment.ProcessorCount;

    /// <summary>Orchestration turns run at once (host.json <c>maxConcurrentOrchestratorFunctions</c>). Default 10 x processors.</summary>
    public int MaxConcurrentOrchestratorFunctions { get; set; } = 10 * Environment.ProcessorCount;

    /// <summary>Lease length of a work item; a crashed worker's work is picked up by others after it. Default 30 s.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest pause between polls for work created by other processes. Default 500 ms.</summary>
    public TimeSpan MaxPollingInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Pool of each activity that this worker schedules but does not itself register
    /// (e.g. <c>Trainer -> gpu</c> in the function app, whose trainer runs in another process).</summary>
    public IDictionary<string, string> ActivityPools { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Executors kept in memory between turns so that a turn does not replay the whole history
    /// (like Durable Functions' extended sessions). 0 disables the cache. Default 10,000.</summary>
    public int MaxCachedOrchestrations { get; set; } = 10_000;

    /// <summary>Serializer for inputs and outputs. Default: <see cref="JsonDataConverter"/>.</summary>
    public DataConverter DataConverter { get; set; } = JsonDataConverter.Default;

    /// <summary>This worker's id in heartbeats and leases. Default: host, process id and a random suffix.</summary>
    public string WorkerId { get; set; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>The pool an activity goes to: its registration, else <see cref="ActivityPools"/>, else default.</summary>
    internal string ResolvePool(DurableTaskRegistry registry, string activityName) =>
        registry.GetActivityPool(activityName)
        ?? (ActivityPools.TryGetValue(activityName, out var p) ? p : WorkerPools.Default);
}

using System.Text.RegularExpressions;

namespace Serverless.Durable.AzureStorage;

/// <summary>
/// Options of <see cref="AzureStorageOrchestrationBackend"/>. The defaults follow the Durable Task Framework's
/// Azure Storage provider (4 partitions, 30 s leases) so a hub behaves like a Durable Functions hub.
/// </summary>
public sealed partial class AzureStorageBackendOptions
{
    /// <summary>Storage connection string (<c>UseDevelopmentStorage=true</c> for Azurite on its default ports,
    /// or account name + key, or endpoints + SAS).</summary>
    public required string ConnectionString { get; init; }

    /// <summary>Task hub name: 3-45 letters and digits starting with a letter (Durable Functions' rule); it
    /// prefixes every queue and container, so several hubs share one account. Compared lower-cased. Default <c>TestHubName</c>.</summary>
    public string TaskHubName { get; init; } = "TestHubName";

    /// <summary>Number of control queues (partitions), 1-16. Fixed when the hub is first created (stored in the hub's
    /// metadata blob; a later different value is ignored). Default 4.</summary>
    public int PartitionCount { get; init; } = 4;

    /// <summary>A partition lease that was not renewed for this long is taken over by another worker. Default 30 s.</summary>
    public TimeSpan LeaseTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often leases are renewed and rebalanced. Default 10 s (a third of <see cref="LeaseTimeout"/>).</summary>
    public TimeSpan LeaseRenewInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>This worker's identity in partition leases; unique per backend instance by default.</summary>
    public string WorkerId { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";

    /// <summary>Queue messages whose text exceeds this many bytes are offloaded to a blob (the queue limit is 64 KiB
    /// of base64 text). Default 45,000.</summary>
    public int MaxMessageBytes { get; init; } = 45_000;

    /// <summary>Activity results of one instance that complete while the previous batch is being written are sent
    /// together: one result-batch blob (the record that they ran) and one control message for up to
    /// <see cref="MaxResultBatch"/> results, instead of a blob and a message each. Default true.</summary>
    public bool BatchResults { get; init; } = true;

    /// <summary>Most results in one batch (1-256). Default 100.</summary>
    public int MaxResultBatch { get; init; } = 100;

    /// <summary>When an activity that was its instance's last outstanding one completes on the worker that owns the
    /// instance's partition, its result is handed straight to the instance's next turn (no result blob, message or
    /// receive; the work item is deleted once that turn has committed). Default true.</summary>
    public bool LocalShortcuts { get; init; } = true;

    /// <summary>Test hook: called at named points of a turn's commit ("after-history", "after-outbox", "after-state")
    /// so tests can inject a crash between the writes.</summary>
    internal Func<string, string, Task>? FaultInjector { get; init; }

    /// <summary>The lower-cased hub name, validated.</summary>
    internal string NormalizedHubName()
    {
        var hub = TaskHubName.ToLowerInvariant();
        if (!HubRegex().IsMatch(hub))
            throw new ArgumentException($"Task hub name '{TaskHubName}' is invalid: use 3-45 letters and digits, starting with a letter (Durable Functions' rule).", nameof(TaskHubName));
        return hub;
    }

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ConnectionString);
        ArgumentOutOfRangeException.ThrowIfLessThan(PartitionCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(PartitionCount, 16);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(LeaseTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(LeaseRenewInterval, TimeSpan.Zero);
        if (LeaseRenewInterval >= LeaseTimeout)
            throw new ArgumentOutOfRangeException(nameof(LeaseRenewInterval), "LeaseRenewInterval must be shorter than LeaseTimeout, or leases expire between renewals.");
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxMessageBytes, 1024);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxMessageBytes, 48_000);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxResultBatch, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxResultBatch, 256);
        NormalizedHubName();
    }

    [GeneratedRegex("^[a-z][a-z0-9]{2,44}$")]
    private static partial Regex HubRegex();
}

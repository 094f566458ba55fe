namespace Serverless.Hosting.Configuration;

/// <summary>
/// The durable settings of host.json (<c>extensions.durableTask</c> in Durable Functions' schema), read by
/// <see cref="HostJsonReader"/>. Null means "not set": the provider's default applies.
/// </summary>
public sealed class DurableTaskHostSettings
{
    /// <summary>The default task hub name when host.json names none (Durable Functions' 2.x default).</summary>
    public const string DefaultHubName = "TestHubName";

    /// <summary><c>hubName</c>: the task hub, the namespace of instances (queue, table and container names on Azure
    /// Storage). Default <see cref="DefaultHubName"/>.</summary>
    public string HubName { get; init; } = DefaultHubName;

    /// <summary><c>storageProvider</c>.</summary>
    public required DurableStorageProviderSettings StorageProvider { get; init; }

    /// <summary><c>maxConcurrentActivityFunctions</c>: activities one worker runs at once.</summary>
    public int? MaxConcurrentActivityFunctions { get; init; }

    /// <summary><c>maxConcurrentOrchestratorFunctions</c>: orchestration turns one worker runs at once.</summary>
    public int? MaxConcurrentOrchestratorFunctions { get; init; }

    /// <summary><c>extendedSessionsEnabled</c>: keep a live orchestrator in memory between turns instead of replaying.</summary>
    public bool? ExtendedSessionsEnabled { get; init; }

    /// <summary><c>extendedSessionIdleTimeoutInSeconds</c>: how long an idle extended session stays in memory.</summary>
    public int? ExtendedSessionIdleTimeoutInSeconds { get; init; }

    /// <summary>The folder relative paths are resolved against (host.json's folder).</summary>
    public string BaseDirectory { get; init; } = Directory.GetCurrentDirectory();

    /// <summary>The file these settings came from, for error messages.</summary>
    public string SourcePath { get; init; } = "host.json";

    /// <summary>Settings with every default (no host.json).</summary>
    public static DurableTaskHostSettings Default(string sourcePath = "host.json") => new()
    {
        StorageProvider = new DurableStorageProviderSettings { Section = HostJsonSection.Empty("extensions.durableTask.storageProvider", sourcePath) },
        SourcePath = sourcePath,
    };
}

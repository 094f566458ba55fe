namespace Serverless.Durable.Http.Configuration;

/// <summary>Where a task hub's state lives (host.json <c>storageProvider.type</c>).</summary>
public enum DurableStorageProviderType
{
    /// <summary><c>sqlite</c>: one embedded SQLite file, shared by the processes of one machine. The default.</summary>
    Sqlite,
    /// <summary><c>memory</c>: in-process only, lost on exit; for tests and demos.</summary>
    Memory,
    /// <summary><c>AzureStorage</c>: queues, tables and blobs of an Azure Storage account (Azurite locally). Not available yet.</summary>
    AzureStorage,
}

/// <summary>host.json <c>extensions.durableTask.storageProvider</c>.</summary>
public sealed class DurableStorageProviderSettings
{
    /// <summary>The provider. Default <see cref="DurableStorageProviderType.Sqlite"/> (zero set-up).</summary>
    public DurableStorageProviderType Type { get; init; } = DurableStorageProviderType.Sqlite;

    /// <summary>
    /// Name of the app setting (environment variable) holding the connection string, as in Durable Functions.
    /// For SQLite its value is a SQLite connection string (<c>Data Source=...</c>) or a plain file path.
    /// Default null (Durable Functions' <c>AzureWebJobsStorage</c> for Azure Storage).
    /// </summary>
    public string? ConnectionStringName { get; init; }

    /// <summary>
    /// Our extension for SQLite (<c>storageProvider.databasePath</c>): the database file, relative paths taken from
    /// the folder of host.json. Wins over <see cref="ConnectionStringName"/>. Default null: the connection setting if it
    /// has a value, else <c>durable/{hubName}.db</c> beside host.json.
    /// </summary>
    public string? DatabasePath { get; init; }
}

/// <summary>
/// The durable settings of host.json (<c>extensions.durableTask</c>, Durable Functions' schema plus our worker-pool
/// extension). Produced by <see cref="HostJsonReader"/>; apply with <see cref="ApplyTo"/> and
/// <see cref="DurableBackendFactory.CreateBackend"/>.
/// </summary>
public sealed class DurableTaskHostSettings
{
    /// <summary>The default task hub name when host.json names none (Durable Functions' 2.x default).</summary>
    public const string DefaultHubName = "TestHubName";

    /// <summary>The task hub: the namespace of instances, and the SQLite file's default name. Default <see cref="DefaultHubName"/>.</summary>
    public string HubName { get; init; } = DefaultHubName;

    /// <summary>The storage provider. Default SQLite.</summary>
    public DurableStorageProviderSettings StorageProvider { get; init; } = new();

    /// <summary><c>maxConcurrentActivityFunctions</c>; null keeps the worker's default (10 x processors).</summary>
    public int? MaxConcurrentActivityFunctions { get; init; }

    /// <summary><c>maxConcurrentOrchestratorFunctions</c>; null keeps the worker's default (10 x processors).</summary>
    public int? MaxConcurrentOrchestratorFunctions { get; init; }

    /// <summary>Our extension <c>activityPools</c>: activity name -> worker pool, for activities this process schedules
    /// but another process runs (e.g. <c>"Trainer": "gpu"</c>). Default empty.</summary>
    public IReadOnlyDictionary<string, string> ActivityPools { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Our extension <c>workerPools</c>: the pools this process serves. Null keeps the worker's default (<c>["default"]</c>).</summary>
    public IReadOnlyList<string>? WorkerPools { get; init; }

    /// <summary>The folder relative paths are resolved against (host.json's folder). Default: the current directory.</summary>
    public string BaseDirectory { get; init; } = Directory.GetCurrentDirectory();

    /// <summary>The file these settings came from, for error messages; null when parsed from text.</summary>
    public string? SourcePath { get; init; }

    /// <summary>Copies the settings that host.json gives onto worker options; settings it leaves out keep the options' values.</summary>
    public void ApplyTo(DurableTaskWorkerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (MaxConcurrentActivityFunctions is { } a) options.MaxConcurrentActivityFunctions = a;
        if (MaxConcurrentOrchestratorFunctions is { } o) options.MaxConcurrentOrchestratorFunctions = o;
        if (WorkerPools is { } pools) options.Pools = pools.ToArray();
        foreach (var (activity, pool) in ActivityPools) options.ActivityPools[activity] = pool;
    }
}

using Serverless.DurableTask.Sqlite;
using Serverless.Hosting.Configuration;

namespace Serverless.Hosting.Providers;

/// <summary>
/// <c>storageProvider.type: sqlite</c>: the embedded provider (<see cref="SqliteOrchestrationService"/>), one SQLite file
/// on the local disk, the zero-setup default of the CLI and the local host: no emulator, no Node.js.
/// <c>connectionStringName</c> names the app setting that holds the database path (default setting
/// <c>DurableStorage</c>); an unset setting means <c>{home}/durable.db</c>, a relative path resolves against the home
/// folder. A <c>Data Source=...</c> connection string is accepted too.
/// </summary>
public sealed class SqliteProviderFactory : IDurableProviderFactory
{
    /// <summary>The <c>storageProvider.type</c> value.</summary>
    public const string Type = "sqlite";

    /// <summary>The app setting read when host.json names none.</summary>
    public const string DefaultConnectionStringName = "DurableStorage";

    /// <summary>The database file name under the home folder when the setting is unset.</summary>
    public const string DefaultFileName = "durable.db";

    /// <summary>The <c>storageProvider</c> keys this provider understands.</summary>
    public static readonly IReadOnlyList<string> SupportedKeys =
        ["type", "connectionStringName", "fullSync", "pollingInterval", "workItemLockTimeout"];

    /// <inheritdoc/>
    public string ProviderType => Type;

    /// <inheritdoc/>
    public DurableProvider Create(DurableProviderContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var settings = Map(context.Settings, DatabasePath(context));
        var service = new SqliteOrchestrationService(settings);
        return new DurableProvider(service, service, settings.TaskHubName);
    }

    /// <summary>The database file the app settings name, or the default under the home folder.</summary>
    public static string DatabasePath(DurableProviderContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var name = context.Settings.StorageProvider.ConnectionStringName ?? DefaultConnectionStringName;
        var value = context.ReadAppSetting(name)?.Trim();
        if (string.IsNullOrEmpty(value)) return Path.Combine(context.HomeDirectory, DefaultFileName);
        const string dataSource = "Data Source=";
        if (value.StartsWith(dataSource, StringComparison.OrdinalIgnoreCase)) value = value[dataSource.Length..].TrimEnd(';').Trim();
        return Path.GetFullPath(value, context.HomeDirectory);
    }

    /// <summary>
    /// Maps host.json onto the provider's settings. <c>hubName</c> -> TaskHubName; <c>maxConcurrentActivityFunctions</c> /
    /// <c>maxConcurrentOrchestratorFunctions</c> -> MaxConcurrentActivityWorkItems / MaxConcurrentOrchestrationWorkItems;
    /// <c>extendedSessionsEnabled</c> (default on for this provider) / <c>extendedSessionIdleTimeoutInSeconds</c>;
    /// <c>storageProvider.fullSync</c> (fsync per commit, survives power loss), <c>pollingInterval</c> (how often other
    /// processes' work is looked for), <c>workItemLockTimeout</c> (how long a dead process's work stays locked).
    /// Unknown keys throw <see cref="HostJsonException"/> naming the key and the file.
    /// </summary>
    public static SqliteOrchestrationServiceSettings Map(DurableTaskHostSettings hostSettings, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(hostSettings);
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        var sp = hostSettings.StorageProvider.Section;
        sp.RejectUnknownKeys(SupportedKeys);
        var defaults = new SqliteOrchestrationServiceSettings { DatabasePath = databasePath };
        var lockTimeout = sp.Duration("workItemLockTimeout", TimeSpan.FromSeconds(2), TimeSpan.FromHours(1)) ?? defaults.WorkItemLockTimeout;
        return new SqliteOrchestrationServiceSettings
        {
            DatabasePath = databasePath,
            TaskHubName = hostSettings.HubName,
            MaxConcurrentActivityWorkItems = hostSettings.MaxConcurrentActivityFunctions ?? defaults.MaxConcurrentActivityWorkItems,
            MaxConcurrentOrchestrationWorkItems = hostSettings.MaxConcurrentOrchestratorFunctions ?? defaults.MaxConcurrentOrchestrationWorkItems,
            ExtendedSessionsEnabled = hostSettings.ExtendedSessionsEnabled ?? defaults.ExtendedSessionsEnabled,
            ExtendedSessionIdleTimeout = hostSettings.ExtendedSessionIdleTimeoutInSeconds is { } idle ? TimeSpan.FromSeconds(idle) : defaults.ExtendedSessionIdleTimeout,
            FullSync = sp.Bool("fullSync") ?? defaults.FullSync,
            PollingInterval = sp.Duration("pollingInterval", TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1)) ?? defaults.PollingInterval,
            WorkItemLockTimeout = lockTimeout,
        };
    }
}

using Microsoft.Data.Sqlite;
using Serverless.Durable.AzureStorage;
using Serverless.Durable.Backend;
using Serverless.Durable.InMemory;
using Serverless.Durable.Sqlite;

namespace Serverless.Durable.Http.Configuration;

/// <summary>Creates the orchestration backend that host.json's <c>storageProvider</c> names.</summary>
public static class DurableBackendFactory
{
    /// <summary>
    /// Creates (does not initialize) the backend. SQLite file: <c>databasePath</c>, else the value of the
    /// <c>connectionStringName</c> setting, else <c>durable/{hubName}.db</c> beside host.json, so a fresh checkout runs
    /// with no set-up.
    /// </summary>
    /// <param name="settings">Settings read from host.json.</param>
    /// <param name="readSetting">Looks up an app setting by name; default: environment variables.</param>
    /// <param name="timeProvider">Clock of the backend; default system time.</param>
    /// <remarks><c>AzureStorage</c>: the connection string is the app setting named by <c>connectionStringName</c>
    /// (default <c>AzureWebJobsStorage</c>, as in Durable Functions); <c>UseDevelopmentStorage=true</c> selects Azurite.</remarks>
    public static IOrchestrationBackend CreateBackend(DurableTaskHostSettings settings, Func<string, string?>? readSetting = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.StorageProvider.Type switch
        {
            DurableStorageProviderType.Memory => new InMemoryOrchestrationBackend(timeProvider),
            DurableStorageProviderType.Sqlite => new SqliteOrchestrationBackend(ResolveSqlitePath(settings, readSetting ?? Environment.GetEnvironmentVariable), timeProvider),
            DurableStorageProviderType.AzureStorage => new AzureStorageOrchestrationBackend(new AzureStorageBackendOptions
            {
                ConnectionString = ResolveAzureStorageConnection(settings, readSetting ?? Environment.GetEnvironmentVariable),
                TaskHubName = settings.HubName,
            }, timeProvider),
            _ => throw new NotSupportedException($"Storage provider '{settings.StorageProvider.Type}' is not supported."),
        };
    }

    /// <summary>The Azure Storage connection string the settings select: the app setting named by
    /// <c>connectionStringName</c>, default <c>AzureWebJobsStorage</c>.</summary>
    public static string ResolveAzureStorageConnection(DurableTaskHostSettings settings, Func<string, string?>? readSetting = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var name = settings.StorageProvider.ConnectionStringName ?? "AzureWebJobsStorage";
        var value = (readSetting ?? Environment.GetEnvironmentVariable)(name);
        return string.IsNullOrWhiteSpace(value)
            ? throw new InvalidOperationException($"{settings.SourcePath ?? "host.json"}: storage provider 'AzureStorage' reads its connection string from app setting '{name}', which is not set. Set it (e.g. {name}=UseDevelopmentStorage=true for Azurite).")
            : value;
    }

    /// <summary>The SQLite database file the settings select (absolute).</summary>
    public static string ResolveSqlitePath(DurableTaskHostSettings settings, Func<string, string?>? readSetting = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        readSetting ??= Environment.GetEnvironmentVariable;
        var sp = settings.StorageProvider;
        string path;
        if (sp.DatabasePath is { } configured) path = configured;
        else if (sp.ConnectionStringName is { } name && readSetting(name) is { Length: > 0 } value) path = PathFromConnectionString(value, name);
        else path = Path.Combine("durable", settings.HubName + ".db");
        return Path.GetFullPath(path, settings.BaseDirectory);
    }

    private static string PathFromConnectionString(string value, string settingName)
    {
        if (!value.Contains('=', StringComparison.Ordinal)) return value;
        try
        {
            var dataSource = new SqliteConnectionStringBuilder(value).DataSource;
            return string.IsNullOrWhiteSpace(dataSource)
                ? throw new InvalidOperationException($"App setting '{settingName}' is a SQLite connection string without 'Data Source'.")
                : dataSource;
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException($"App setting '{settingName}' is not a valid SQLite connection string: {ex.Message}", ex);
        }
    }
}

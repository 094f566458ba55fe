using Microsoft.Data.Sqlite;
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
    /// <exception cref="NotSupportedException">For <c>AzureStorage</c>, which is not implemented yet.</exception>
    public static IOrchestrationBackend CreateBackend(DurableTaskHostSettings settings, Func<string, string?>? readSetting = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.StorageProvider.Type switch
        {
            DurableStorageProviderType.Memory => new InMemoryOrchestrationBackend(timeProvider),
            DurableStorageProviderType.Sqlite => new SqliteOrchestrationBackend(ResolveSqlitePath(settings, readSetting ?? Environment.GetEnvironmentVariable), timeProvider),
            DurableStorageProviderType.AzureStorage => throw new NotSupportedException(
                $"{settings.SourcePath ?? "host.json"}: storage provider 'AzureStorage' is not yet supported by this engine; use 'sqlite' (default) or 'memory'."),
            _ => throw new NotSupportedException($"Storage provider '{settings.StorageProvider.Type}' is not supported."),
        };
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

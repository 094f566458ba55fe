using Microsoft.Data.Sqlite;
using Serverless.Hosting.Configuration;

namespace Serverless.Hosting.Tests.Conformance;

/// <summary>
/// The conformance suite's host on the embedded SQLite provider (<c>storageProvider.type: sqlite</c>), a fresh database
/// file in a temp folder, configured through host.json as a user would. <see cref="ExtendedSessions"/> chooses between the
/// replay path (every turn rebuilds the orchestrator from the stored history, as the Azure Storage fixture runs) and the
/// provider's default, extended sessions (the live orchestrator is resumed).
/// </summary>
public abstract class SqliteFixture : DurableHostFixture
{
    private string? _folder;

    /// <summary>Whether DTFx keeps orchestrators loaded between turns (host.json <c>extendedSessionsEnabled</c>).</summary>
    public abstract bool ExtendedSessions { get; }

    /// <summary>The database file of the fixture's task hub.</summary>
    public string DatabasePath => Path.Combine(_folder ?? throw new InvalidOperationException("The fixture is not started."), "conformance.db");

    /// <inheritdoc/>
    public override bool ReplaysEveryTurn => !ExtendedSessions;

    /// <inheritdoc/>
    protected override Task<Action<DurableHostingOptions>> StartStorageAsync()
    {
        _folder = Directory.CreateTempSubdirectory("conformance-sqlite-").FullName;
        var json = $$"""
            {
              "extensions": {
                "durableTask": {
                  "hubName": "conformance",
                  "storageProvider": { "type": "sqlite", "connectionStringName": "ConformanceStorage", "workItemLockTimeout": "00:00:05" },
                  "extendedSessionsEnabled": {{(ExtendedSessions ? "true" : "false")}},
                  "maxConcurrentActivityFunctions": 20,
                  "maxConcurrentOrchestratorFunctions": 40
                }
              }
            }
            """;
        var settings = HostJsonReader.Parse(json, "conformance-host.json");
        var path = DatabasePath;
        var folder = _folder;
        Action<DurableHostingOptions> configure = o =>
        {
            o.Settings = settings;
            o.ReadAppSetting = name => name == "ConformanceStorage" ? path : null;
            o.HomeDirectory = folder;
        };
        return Task.FromResult(configure);
    }

    /// <inheritdoc/>
    protected override Task StopStorageAsync()
    {
        SqliteConnection.ClearAllPools();
        if (_folder is not null) Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>SQLite with extended sessions off: every turn replays the stored history.</summary>
public sealed class SqliteReplayFixture : SqliteFixture
{
    /// <inheritdoc/>
    public override bool ExtendedSessions => false;
}

/// <summary>SQLite with its default settings: extended sessions on.</summary>
public sealed class SqliteSessionsFixture : SqliteFixture
{
    /// <inheritdoc/>
    public override bool ExtendedSessions => true;
}

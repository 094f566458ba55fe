using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.Hosting;
using Serverless.DurableTask.Sqlite;
using Serverless.Hosting.Configuration;

namespace Serverless.Hosting.Tests.Configuration;

/// <summary>
/// Files the SQLite provider must refuse, reached the way a user reaches them: host.json <c>storageProvider.type:
/// sqlite</c> and an app setting naming the file, through the hosting registration (a worker host and a client-only
/// host, as the CLI runs). The host does not start, the error names the file, and the file is byte-identical after
/// (SHA-256), with no WAL content left beside it.
/// </summary>
public sealed class SqliteBadFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sqlite-badfile-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private string Write(string kind)
    {
        var path = Path.Combine(_folder, kind + ".db");
        switch (kind)
        {
            case "text":
                File.WriteAllText(path, "these are my notes, not a database\n" + new string('x', 5000));
                break;
            case "foreign":
                using (var conn = new SqliteConnection($"Data Source={path};Pooling=False"))
                {
                    conn.Open();
                    using var cmd = conn.CreateCommand();
                    cmd.CommandText = "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers(name) VALUES ('Ada'), ('Grace');";
                    cmd.ExecuteNonQuery();
                }
                break;
            case "newer":
                // A task hub file of this provider whose schema version a later build wrote.
                var service = new SqliteOrchestrationService(new SqliteOrchestrationServiceSettings { DatabasePath = path });
                service.CreateIfNotExistsAsync().GetAwaiter().GetResult();
                service.DisposeAsync().AsTask().GetAwaiter().GetResult();
                using (var conn = new SqliteConnection($"Data Source={path};Pooling=False"))
                {
                    conn.Open();
                    using var cmd = conn.CreateCommand();
                    cmd.CommandText = "PRAGMA user_version = 99; PRAGMA wal_checkpoint(TRUNCATE);";
                    cmd.ExecuteNonQuery();
                }
                SqliteConnection.ClearAllPools();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
        return path;
    }

    private IHost Build(string path, bool workerHost)
    {
        var settings = HostJsonReader.Parse("""
            { "extensions": { "durableTask": { "hubName": "bad", "storageProvider": { "type": "sqlite", "connectionStringName": "HubFile" } } } }
            """, Path.Combine(_folder, "host.json"));
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        void Configure(DurableHostingOptions o)
        {
            o.Settings = settings;
            o.ReadAppSetting = name => name == "HubFile" ? path : null;
            o.HomeDirectory = _folder;
        }
        if (workerHost)
            builder.Services.AddDurableTaskHosting(Configure).AddTasks(r => r.AddOrchestratorFunc<int, int>("Noop", (_, x) => Task.FromResult(x)));
        else
            builder.Services.AddDurableTaskHostingClient(Configure);
        return builder.Build();
    }

    [Theory]
    [InlineData("text", true, "not a SQLite database")]
    [InlineData("text", false, "not a SQLite database")]
    [InlineData("foreign", true, "another application")]
    [InlineData("foreign", false, "customers")]
    [InlineData("newer", true, "schema version 99")]
    [InlineData("newer", false, "schema version 99")]
    public async Task StartHost_BadDatabaseFile_RefusesNamingFileAndLeavesItByteIdentical(string kind, bool workerHost, string expected)
    {
        var path = Write(kind);
        var before = Hash(path);
        using var host = Build(path, workerHost);

        var ex = await Assert.ThrowsAsync<SqliteDatabaseFileException>(() => host.StartAsync());

        Assert.Equal(path, ex.FilePath);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        SqliteConnection.ClearAllPools();
        Assert.Equal(before, Hash(path));
        Assert.False(File.Exists(path + "-wal") && new FileInfo(path + "-wal").Length > 0, "a WAL with content was left beside the file");
    }
}

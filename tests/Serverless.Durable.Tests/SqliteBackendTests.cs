using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Serverless.Durable.Sqlite;

namespace Serverless.Durable.Tests;

/// <summary>SQLite-specific behaviour: start-up checks on bad files and out-of-line storage of large payloads.</summary>
public sealed class SqliteBackendTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("durable-sqlite-file-").FullName;

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public async Task Initialize_FileIsNotADatabase_ClearErrorAndFileUntouched()
    {
        var path = Path.Combine(_dir, "notes.db");
        await File.WriteAllTextAsync(path, "This is a text file, not a database. It is long enough to have a header region...........");
        var before = Hash(path);
        await using var backend = new SqliteOrchestrationBackend(path);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => backend.InitializeAsync());
        Assert.Contains("not a SQLite database", ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, Hash(path));
        Assert.False(File.Exists(path + "-wal"));
    }

    [Fact]
    public async Task Initialize_NewerSchemaVersion_ClearErrorAndFileUntouched()
    {
        var path = Path.Combine(_dir, "future.db");
        await using (var backend = new SqliteOrchestrationBackend(path)) await backend.InitializeAsync();
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE meta SET value = '99' WHERE key = 'schema_version'; PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;";
            cmd.ExecuteNonQuery();
        }
        var before = Hash(path);
        await using var again = new SqliteOrchestrationBackend(path);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => again.InitializeAsync());
        Assert.Contains("schema version 99", ex.Message, StringComparison.Ordinal);
        Assert.Contains("newer", ex.Message, StringComparison.Ordinal);
        SqliteConnection.ClearAllPools();
        Assert.Equal(before, Hash(path));
    }

    [Fact]
    public async Task Initialize_ForeignDatabase_Rejected()
    {
        var path = Path.Combine(_dir, "other.db");
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT);";
            cmd.ExecuteNonQuery();
        }
        await using var backend = new SqliteOrchestrationBackend(path);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => backend.InitializeAsync());
        Assert.Contains("something else", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LargeInput_Over64KB_StoredOutOfLineNotInHistoryRow()
    {
        var path = Path.Combine(_dir, "big.db");
        var big = new string('y', 100_000);
        await using (var host = await TestHost.StartAsync(new SqliteOrchestrationBackend(path), r => r
            .AddActivityFunc<string, string>("Echo", (_, s) => s)
            .AddOrchestratorFunc<string, string>("Big", async (ctx, s) => await ctx.CallActivityAsync<string>("Echo", s))))
        {
            var result = await host.RunAsync("Big", big);
            Assert.Equal(big, result.ReadOutputAs<string>());
        }
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT max(length(event)) FROM history";
        Assert.True(Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) < 64 * 1024);
        cmd.CommandText = "SELECT count(*) FROM history WHERE payload_id IS NOT NULL";
        Assert.True(Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) >= 3); // ExecutionStarted, TaskScheduled, TaskCompleted
        cmd.CommandText = "SELECT count(*) FROM payloads WHERE length(data) >= 100000";
        Assert.True(Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) >= 3);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}

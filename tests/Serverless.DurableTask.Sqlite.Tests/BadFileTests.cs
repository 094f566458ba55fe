using System.Security.Cryptography;
using DurableTask.Core;
using Microsoft.Data.Sqlite;

namespace Serverless.DurableTask.Sqlite.Tests;

/// <summary>
/// Files the provider must refuse: each refusal names the file and leaves it byte-identical (compared by SHA-256),
/// without SQLite side files left behind.
/// </summary>
public sealed class BadFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dtfx-sqlite-bad-").FullName;

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static async Task<SqliteDatabaseFileException> RefusedAsync(string path)
    {
        await using var service = new SqliteOrchestrationService(new SqliteOrchestrationServiceSettings { DatabasePath = path });
        return await Assert.ThrowsAsync<SqliteDatabaseFileException>(() => service.CreateIfNotExistsAsync());
    }

    private static void AssertUntouched(string path, string hashBefore, SqliteDatabaseFileException ex)
    {
        Assert.Equal(Path.GetFullPath(path), ex.FilePath);
        Assert.Contains(Path.GetFullPath(path), ex.Message, StringComparison.Ordinal);
        SqliteConnection.ClearAllPools();
        Assert.Equal(hashBefore, Hash(path));
        Assert.False(File.Exists(path + "-wal") && new FileInfo(path + "-wal").Length > 0, "a WAL with content was left next to the file");
    }

    [Fact]
    public async Task Open_NotADatabase_RefusedAndLeftByteIdentical()
    {
        var path = PathOf("notes.db");
        File.WriteAllText(path, "these are my notes, not a database\n" + new string('x', 5000));
        var before = Hash(path);

        var ex = await RefusedAsync(path);

        Assert.Contains("not a SQLite database", ex.Message, StringComparison.Ordinal);
        AssertUntouched(path, before, ex);
        Assert.False(File.Exists(path + "-shm"));
    }

    [Fact]
    public async Task Open_AnotherApplicationsDatabase_RefusedAndLeftByteIdentical()
    {
        var path = PathOf("shop.db");
        using (var conn = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            conn.Open();
            using var cmd = conn.CreateCommand();
            cmd.CommandText = "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers(name) VALUES ('Ada'), ('Grace');";
            cmd.ExecuteNonQuery();
        }
        var before = Hash(path);

        var ex = await RefusedAsync(path);

        Assert.Contains("another application", ex.Message, StringComparison.Ordinal);
        Assert.Contains("customers", ex.Message, StringComparison.Ordinal);
        AssertUntouched(path, before, ex);
    }

    [Fact]
    public async Task Open_NewerSchemaVersion_RefusedAndLeftByteIdentical()
    {
        var path = PathOf("future.db");
        await using (var service = new SqliteOrchestrationService(new SqliteOrchestrationServiceSettings { DatabasePath = path }))
            await service.CreateIfNotExistsAsync();
        using (var conn = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            conn.Open();
            using var cmd = conn.CreateCommand();
            cmd.CommandText = "PRAGMA user_version = 99; PRAGMA wal_checkpoint(TRUNCATE);";
            cmd.ExecuteNonQuery();
        }
        var before = Hash(path);

        var ex = await RefusedAsync(path);

        Assert.Contains("schema version 99", ex.Message, StringComparison.Ordinal);
        AssertUntouched(path, before, ex);
    }

    [Fact]
    public async Task Open_OwnFileAgain_IsAcceptedAndKeepsItsInstances()
    {
        var path = PathOf("mine.db");
        await using (var hub = await TestHub.StartAsync(Samples.Register, s => new SqliteOrchestrationServiceSettings { DatabasePath = path, PollingInterval = s.PollingInterval }))
            await hub.RunAsync("Sequence", 1, "kept");

        await using var again = new SqliteOrchestrationService(new SqliteOrchestrationServiceSettings { DatabasePath = path });
        await again.CreateIfNotExistsAsync();
        Assert.Equal(OrchestrationStatus.Completed, (await again.GetOrchestrationStateAsync("kept", (string?)null))?.OrchestrationStatus);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, true);
    }
}

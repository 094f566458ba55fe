using System.Collections.Concurrent;

namespace Serverless.DurableTask.Sqlite.Tests;

/// <summary>The store's group commit: which queued writes the next batch takes.</summary>
public sealed class SqliteStoreTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("sqlite-store-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, true);
    }

    [Fact]
    public async Task FirstWrite_QueuedBehind300Others_CommitsFirstInTheNextBatch()
    {
        var store = SqliteStore.Acquire(Path.Combine(folder, "store.db"), fullSync: false, TimeSpan.FromSeconds(1));
        try
        {
            await store.WriteAsync(c => c.Execute("CREATE TABLE t(x INTEGER)"));
            using var entered = new ManualResetEventSlim();
            using var gate = new ManualResetEventSlim();
            // This write holds the writer (its thread is the combiner) until the others are queued.
            var holder = Task.Run(() => store.WriteAsync(_ =>
            {
                entered.Set();
                gate.Wait();
                return 0;
            }));
            Assert.True(entered.Wait(TimeSpan.FromSeconds(30)));

            var order = new ConcurrentQueue<string>();
            var others = Enumerable.Range(0, 300)
                .Select(i => store.WriteAsync(c => c.Execute("INSERT INTO t VALUES (@p0)", i), _ => order.Enqueue($"write {i}")))
                .ToList();
            var turn = store.WriteAsync(c => c.Execute("INSERT INTO t VALUES (-1)"), _ => order.Enqueue("turn"), first: true);
            gate.Set();
            await Task.WhenAll(others.Append(turn).Append(holder));

            var committed = order.ToList();
            Assert.Equal(301, committed.Count);
            Assert.Equal("turn", committed[0]); // in plain arrival order it would be last
            Assert.Equal(Enumerable.Range(0, 300).Select(i => $"write {i}"), committed.Skip(1)); // the others keep their order
        }
        finally
        {
            store.Release();
        }
    }
}

using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// One open database file, shared by every service of this process that uses the file (reference-counted): one writer
/// connection, a pool of reader connections with prepared statements, and the in-process wake-up signals of each task
/// hub. Writes are flat-combined: a caller that finds the writer free commits its write on its own thread (no thread
/// hop); writes that arrive meanwhile queue up and the thread holding the writer commits them all in one transaction
/// (group commit). Other processes on the same file are noticed through SQLite's <c>data_version</c> of the writer
/// connection, checked every polling interval.
/// </summary>
internal sealed class SqliteStore
{
    private static readonly Dictionary<string, SqliteStore> Open = new(StringComparer.Ordinal);
    private static readonly Lock OpenLock = new();

    private readonly string _connectionString;
    private readonly ConcurrentQueue<WriteOp> _writes = new();
    private readonly ConcurrentBag<Connection> _readers = [];
    private readonly ConcurrentDictionary<string, HubSignals> _hubs = new(StringComparer.Ordinal);
    private readonly Connection _writer;
    private readonly Timer _poller;
    private readonly List<WriteOp> _batch = new(128);
    private int _combining; // 1 while a thread holds the writer connection
    private long _lastDataVersion;
    private long _lastCheck;
    private TimeSpan _pollingInterval;
    private int _references;
    private volatile bool _fullSync;
    private bool _appliedFullSync;
    private volatile bool _closed;

    private SqliteStore(string path, bool fullSync, TimeSpan pollingInterval)
    {
        Path = path;
        _fullSync = fullSync;
        _pollingInterval = pollingInterval;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false, // our own pools keep connections and their prepared statements open
        }.ToString();
        var existing = new SqliteConnectionStringBuilder(_connectionString) { Mode = SqliteOpenMode.ReadWrite }.ToString();
        SqliteSchema.CheckExistingFile(path, existing);
        var dir = System.IO.Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        _writer = new Connection(OpenConnection());
        try
        {
            SqliteSchema.Create(_writer.Sqlite);
            Pragma(_writer.Sqlite, $"PRAGMA synchronous={(fullSync ? "FULL" : "NORMAL")}; PRAGMA wal_autocheckpoint=2000;");
            _appliedFullSync = fullSync;
        }
        catch
        {
            _writer.Dispose();
            throw;
        }
        _lastDataVersion = DataVersion();
        _lastCheck = Environment.TickCount64;
        _poller = new Timer(_ => Poll(), null, pollingInterval, pollingInterval);
    }

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    /// <summary>Opens (or joins) the store of a file. Each call must be matched by one <see cref="Release"/>.</summary>
    public static SqliteStore Acquire(string path, bool fullSync, TimeSpan pollingInterval)
    {
        var full = System.IO.Path.GetFullPath(path);
        lock (OpenLock)
        {
            if (!Open.TryGetValue(full, out var store))
            {
                store = new SqliteStore(full, fullSync, pollingInterval);
                Open[full] = store;
            }
            else
            {
                // The strictest settings of the services sharing the file win (the writer applies it before its next batch).
                store._fullSync |= fullSync;
                if (pollingInterval < store._pollingInterval)
                {
                    store._pollingInterval = pollingInterval;
                    store._poller.Change(pollingInterval, pollingInterval);
                }
            }
            store._references++;
            return store;
        }
    }

    /// <summary>Gives back one reference; the last one closes the connections (the writer drains its queue first).</summary>
    public void Release()
    {
        lock (OpenLock)
        {
            if (--_references > 0) return;
            Open.Remove(Path);
            _closed = true;
        }
        _poller.Dispose();
        // Commit what is still queued, then wait for a combiner still at work.
        while (!_writes.IsEmpty || Volatile.Read(ref _combining) != 0)
        {
            Combine();
            Thread.Sleep(1);
        }
        _writer.Dispose();
        while (_readers.TryTake(out var r)) r.Dispose();
    }

    /// <summary>The wake-up signals of one task hub in this process.</summary>
    public HubSignals Hub(string hub) => _hubs.GetOrAdd(hub, _ => new HubSignals());

    private SqliteConnection OpenConnection()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        Pragma(c, "PRAGMA busy_timeout=30000; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384; PRAGMA mmap_size=268435456;");
        return c;
    }

    private static void Pragma(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    // ---------------- reads ----------------

    /// <summary>
    /// Runs a read on a pooled reader connection. WAL lets readers run beside the writer and other processes; each
    /// statement sees the last committed state.
    /// </summary>
    public T Read<T>(Func<Connection, T> read)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (!_readers.TryTake(out var conn)) conn = new Connection(OpenConnection());
        try
        {
            return read(conn);
        }
        finally
        {
            if (_closed) conn.Dispose();
            else _readers.Add(conn);
        }
    }

    // ---------------- writes ----------------

    /// <summary>
    /// Runs a write in a transaction with the writer connection: on this thread if the writer is free, else by the thread
    /// holding it. The writes waiting at the same moment commit together (group commit), each inside its own savepoint so
    /// that a failing one rolls back alone. The task completes after the commit. <paramref name="afterCommit"/> runs right
    /// after the commit on the committing thread (wake-ups without a thread hop); it must be quick and must not throw.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<Connection, T> work, Action<T>? afterCommit = null)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        var op = new WriteOp<T>(work, afterCommit);
        _writes.Enqueue(op);
        Combine();
        return op.Completion.Task;
    }

    /// <summary>
    /// Takes the writer if it is free and commits the queued writes, batch after batch, until the queue is empty (or,
    /// after a few batches, hands the rest to a pool thread so that one caller does not serve everyone forever).
    /// Returns at once when another thread holds the writer: that thread commits the write just queued.
    /// </summary>
    private void Combine()
    {
        while (true)
        {
            if (Interlocked.CompareExchange(ref _combining, 1, 0) != 0) return;
            var batches = 0;
            try
            {
                while (!_writes.IsEmpty && batches++ < 4)
                {
                    if (_fullSync && !_appliedFullSync)
                    {
                        Pragma(_writer.Sqlite, "PRAGMA synchronous=FULL;");
                        _appliedFullSync = true;
                    }
                    _batch.Clear();
                    while (_batch.Count < 128 && _writes.TryDequeue(out var op)) _batch.Add(op);
                    CommitBatch(_batch);
                }
                if (Environment.TickCount64 - _lastCheck >= (long)_pollingInterval.TotalMilliseconds) CheckOtherProcesses();
            }
            finally
            {
                Volatile.Write(ref _combining, 0);
            }
            if (_writes.IsEmpty) return; // a write queued after the last look but before the release is taken next
            if (batches > 4)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static s => ((SqliteStore)s!).Combine(), this);
                return;
            }
        }
    }

    /// <summary>The polling timer: looks for other processes' commits when the writer is idle.</summary>
    private void Poll()
    {
        if (Interlocked.CompareExchange(ref _combining, 1, 0) != 0) return; // the busy combiner checks after its batch
        try
        {
            if (!_closed) CheckOtherProcesses();
        }
        finally
        {
            Volatile.Write(ref _combining, 0);
        }
        if (!_writes.IsEmpty) Combine();
    }

    private abstract class WriteOp
    {
        public abstract void Run(Connection c);
        public abstract void Committed();
        public abstract void Fail(Exception ex);
    }

    private sealed class WriteOp<T>(Func<Connection, T> work, Action<T>? afterCommit) : WriteOp
    {
        private T? _result;
        private Exception? _error;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Run(Connection c)
        {
            try
            {
                _result = work(c);
            }
            catch (Exception ex)
            {
                _error = ex;
                throw;
            }
        }

        public override void Committed()
        {
            if (_error != null)
            {
                Completion.TrySetException(_error);
                return;
            }
            try
            {
                afterCommit?.Invoke(_result!);
            }
            finally
            {
                Completion.TrySetResult(_result!);
            }
        }

        public override void Fail(Exception ex) => Completion.TrySetException(ex);
    }

    /// <summary>
    /// Commits a batch: one transaction, each write in its own savepoint. The transaction statements are run as prepared
    /// statements of the writer connection (Microsoft.Data.Sqlite's transaction objects prepare them anew every time).
    /// </summary>
    private void CommitBatch(List<WriteOp> batch)
    {
        var open = false;
        try
        {
            _writer.Execute("BEGIN IMMEDIATE"); // waits (busy_timeout) for other processes' writers
            open = true;
            if (batch.Count == 1)
            {
                try
                {
                    batch[0].Run(_writer);
                }
                catch (Exception)
                {
                    open = false;
                    _writer.Execute("ROLLBACK");
                    batch[0].Committed(); // reports the op's own exception
                    return;
                }
            }
            else
            {
                foreach (var op in batch)
                {
                    _writer.Execute("SAVEPOINT w");
                    try
                    {
                        op.Run(_writer);
                    }
                    catch (Exception)
                    {
                        _writer.Execute("ROLLBACK TO w");
                    }
                    _writer.Execute("RELEASE w");
                }
            }
            _writer.Execute("COMMIT");
            open = false;
        }
        catch (Exception ex)
        {
            if (open)
            {
                try
                {
                    _writer.Execute("ROLLBACK");
                }
                catch (SqliteException)
                {
                    // SQLite may have rolled back already (an I/O error does); the batch fails either way.
                }
            }
            foreach (var op in batch) op.Fail(ex);
            return;
        }
        foreach (var op in batch) op.Committed();
    }

    private long DataVersion()
    {
        using var cmd = _writer.Sqlite.CreateCommand();
        cmd.CommandText = "PRAGMA data_version";
        return (long)cmd.ExecuteScalar()!;
    }

    private void CheckOtherProcesses()
    {
        _lastCheck = Environment.TickCount64;
        long now;
        try
        {
            now = DataVersion();
        }
        catch (SqliteException)
        {
            return;
        }
        // data_version of a connection changes only when another connection commits (SQLite documents this), so the
        // writer's own commits never trigger this; other processes' commits do.
        if (now == _lastDataVersion) return;
        _lastDataVersion = now;
        foreach (var hub in _hubs.Values) hub.ExternalChange();
    }

    /// <summary>A connection with its prepared statements.</summary>
    internal sealed class Connection(SqliteConnection sqlite) : IDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

        public SqliteConnection Sqlite { get; } = sqlite;

        /// <summary>A prepared statement for <paramref name="sql"/> with its parameters bound in order to @p0, @p1, ...</summary>
        public SqliteCommand Command(string sql, params ReadOnlySpan<object?> args)
        {
            if (!_commands.TryGetValue(sql, out var cmd))
            {
                cmd = Sqlite.CreateCommand();
                cmd.CommandText = sql;
                for (var i = 0; i < args.Length; i++) cmd.Parameters.Add(new SqliteParameter(ParameterNames.Get(i), null));
                _commands[sql] = cmd;
            }
            if (cmd.Parameters.Count != args.Length) throw new InvalidOperationException($"'{sql}' was prepared with {cmd.Parameters.Count} parameters, called with {args.Length}.");
            for (var i = 0; i < args.Length; i++) cmd.Parameters[i].Value = args[i] ?? DBNull.Value;
            return cmd;
        }

        public int Execute(string sql, params ReadOnlySpan<object?> args) => Command(sql, args).ExecuteNonQuery();

        public object? Scalar(string sql, params ReadOnlySpan<object?> args)
        {
            var v = Command(sql, args).ExecuteScalar();
            return v is DBNull ? null : v;
        }

        public SqliteDataReader Query(string sql, params ReadOnlySpan<object?> args) => Command(sql, args).ExecuteReader();

        public void Dispose()
        {
            foreach (var c in _commands.Values) c.Dispose();
            _commands.Clear();
            Sqlite.Dispose();
        }
    }

    private static class ParameterNames
    {
        private static readonly string[] Names = Enumerable.Range(0, 64).Select(i => "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        public static string Get(int i) => i < Names.Length ? Names[i] : "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}

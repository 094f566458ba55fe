using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// One open database file, shared by every service of this process that uses the file (reference-counted): one writer
/// connection with a writer thread that group-commits the writes waiting at the same moment, a pool of reader
/// connections with prepared statements, and the in-process wake-up signals of each task hub. Other processes on the
/// same file are noticed through SQLite's <c>data_version</c>, which the writer connection checks every polling interval.
/// </summary>
internal sealed class SqliteStore
{
    private static readonly Dictionary<string, SqliteStore> Open = new(StringComparer.Ordinal);
    private static readonly Lock OpenLock = new();

    private readonly string _connectionString;
    private readonly Channel<WriteOp> _writes = Channel.CreateUnbounded<WriteOp>(new() { SingleReader = true });
    private readonly ConcurrentBag<Connection> _readers = [];
    private readonly ConcurrentDictionary<string, HubSignals> _hubs = new(StringComparer.Ordinal);
    private readonly Thread _writerThread;
    private readonly Connection _writer;
    private TimeSpan _pollingInterval;
    private int _references;
    private volatile bool _fullSync;
    private bool _appliedFullSync;
    private volatile bool _closed;

    static SqliteStore() => SQLitePCL.Batteries_V2.Init();

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
        _writerThread = new Thread(WriterLoop) { IsBackground = true, Name = "sqlite-dtfx-writer " + System.IO.Path.GetFileName(path) };
        _writerThread.Start();
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
                if (pollingInterval < store._pollingInterval) store._pollingInterval = pollingInterval;
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
        _writes.Writer.TryComplete();
        _writerThread.Join();
        _writer.Dispose();
        while (_readers.TryTake(out var r)) r.Dispose();
    }

    /// <summary>The wake-up signals of one task hub in this process.</summary>
    public HubSignals Hub(string hub) => _hubs.GetOrAdd(hub, _ => new HubSignals());

    private SqliteConnection OpenConnection()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        Pragma(c, "PRAGMA busy_timeout=30000; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384;");
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
    /// Runs a write in a transaction on the writer thread. The writes waiting at the same moment commit together (group
    /// commit), each inside its own savepoint so that a failing one rolls back alone. The task completes after the
    /// commit. <paramref name="afterCommit"/> runs on the writer thread right after the commit (wake-ups: no thread hop).
    /// </summary>
    public Task<T> WriteAsync<T>(Func<Connection, T> work, Action<T>? afterCommit = null)
    {
        var op = new WriteOp<T>(work, afterCommit);
        if (!_writes.Writer.TryWrite(op)) throw new ObjectDisposedException(nameof(SqliteStore), "The SQLite task hub store is closed.");
        return op.Completion.Task;
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

    private void WriterLoop()
    {
        var batch = new List<WriteOp>(128);
        var reader = _writes.Reader;
        var lastDataVersion = DataVersion();
        var lastCheck = Environment.TickCount64;
        Task<bool>? pending = null;
        while (true)
        {
            if (!reader.TryPeek(out _))
            {
                // Idle: wake every polling interval to look for commits of other processes.
                pending ??= reader.WaitToReadAsync().AsTask();
                if (!pending.Wait(_pollingInterval))
                {
                    lastCheck = Environment.TickCount64;
                    lastDataVersion = CheckOtherProcesses(lastDataVersion);
                    continue;
                }
                var more = pending.Result;
                pending = null;
                if (!more) return; // completed and drained: the store is closing
                continue;
            }
            if (Environment.TickCount64 - lastCheck >= (long)_pollingInterval.TotalMilliseconds)
            {
                lastCheck = Environment.TickCount64;
                lastDataVersion = CheckOtherProcesses(lastDataVersion);
            }
            if (_fullSync && !_appliedFullSync)
            {
                Pragma(_writer.Sqlite, "PRAGMA synchronous=FULL;");
                _appliedFullSync = true;
            }
            batch.Clear();
            while (batch.Count < 128 && reader.TryRead(out var op)) batch.Add(op);
            CommitBatch(batch);
        }
    }

    private void CommitBatch(List<WriteOp> batch)
    {
        try
        {
            using var tx = _writer.Sqlite.BeginTransaction(); // BEGIN IMMEDIATE: waits (busy_timeout) for other processes' writers
            _writer.Transaction = tx;
            try
            {
                if (batch.Count == 1)
                {
                    try
                    {
                        batch[0].Run(_writer);
                    }
                    catch (Exception)
                    {
                        tx.Rollback();
                        batch[0].Committed(); // reports the op's own exception
                        return;
                    }
                }
                else
                {
                    for (var i = 0; i < batch.Count; i++)
                    {
                        tx.Save("w");
                        try
                        {
                            batch[i].Run(_writer);
                            tx.Release("w");
                        }
                        catch (Exception)
                        {
                            tx.Rollback("w");
                            tx.Release("w");
                        }
                    }
                }
                tx.Commit();
            }
            finally
            {
                _writer.Transaction = null;
            }
        }
        catch (Exception ex)
        {
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

    private long CheckOtherProcesses(long last)
    {
        long now;
        try
        {
            now = DataVersion();
        }
        catch (SqliteException)
        {
            return last;
        }
        // data_version of a connection changes only when another connection commits (SQLite documents this), so the
        // writer's own commits never trigger this; other processes' commits (and other stores' in this process) do.
        if (now != last)
        {
            foreach (var hub in _hubs.Values) hub.ExternalChange();
        }
        return now;
    }

    /// <summary>A connection with its prepared statements; the writer's carries the current transaction.</summary>
    internal sealed class Connection(SqliteConnection sqlite) : IDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

        public SqliteConnection Sqlite { get; } = sqlite;

        public SqliteTransaction? Transaction { get; set; }

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
            cmd.Transaction = Transaction;
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

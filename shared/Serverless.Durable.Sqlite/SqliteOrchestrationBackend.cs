using System.Data;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Serverless.Durable.Backend;
using Serverless.Durable.History;

namespace Serverless.Durable.Sqlite;

/// <summary>Options of the SQLite backend.</summary>
public sealed class SqliteBackendOptions
{
    /// <summary>The database file. Created with its folder if missing.</summary>
    public required string Path { get; init; }

    /// <summary>
    /// Durability: false (default) uses <c>synchronous=NORMAL</c> in WAL mode: a committed turn survives a
    /// crash of any process (the WAL is in the OS page cache), and only an OS crash or power loss can lose
    /// the last few commits; this is 4x faster on this machine. True uses <c>synchronous=FULL</c> (fsync per commit).
    /// </summary>
    public bool FullSync { get; init; }

    /// <summary>Inputs, outputs and events larger than this many characters are stored out of line in the
    /// payloads table instead of in the history/message row. Default 64 KiB.</summary>
    public int MaxInlinePayloadChars { get; init; } = 64 * 1024;
}

/// <summary>
/// The embedded default backend: one SQLite file in WAL mode, safe for several worker processes.
/// Work items are leased with an expiry (a crashed worker's work is taken over after it), and an
/// orchestration turn commits its new history, outbound messages and the deletion of the consumed
/// messages in one transaction. In-process writes go through one writer loop that group-commits the
/// writes waiting at the same moment; across processes SQLite's own lock and busy timeout serialize them.
/// </summary>
public sealed class SqliteOrchestrationBackend : IOrchestrationBackend
{
    /// <summary>The schema version this build reads and writes.</summary>
    public const int SchemaVersion = 1;

    private readonly SqliteBackendOptions _options;
    private readonly TimeProvider _time;
    private readonly string _connectionString;
    private readonly SemaphoreSlim _initLock = new(1, 1);
    private readonly WorkSignal _orchestrationSignal = new();
    private readonly WorkSignal _activitySignal = new();
    private SqliteConnection? _writer;
    private readonly Dictionary<string, SqliteCommand> _commands = [];
    private bool _initialized;

    static SqliteOrchestrationBackend() => SQLitePCL.Batteries_V2.Init();

    /// <summary>Creates a backend on a file (call <see cref="InitializeAsync"/> before use; the worker does).</summary>
    public SqliteOrchestrationBackend(SqliteBackendOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Path);
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = System.IO.Path.GetFullPath(options.Path),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>Convenience constructor from a file path.</summary>
    public SqliteOrchestrationBackend(string path, TimeProvider? timeProvider = null) : this(new SqliteBackendOptions { Path = path }, timeProvider) { }

    /// <summary>The database file.</summary>
    public string Path => _options.Path;

    private long NowTicks => _time.GetUtcNow().UtcTicks;

    // ---------------- schema ----------------

    /// <inheritdoc/>
    public async Task InitializeAsync(CancellationToken cancellation = default)
    {
        await _initLock.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            if (_initialized) return;
            var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_options.Path));
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            var conn = new SqliteConnection(_connectionString);
            try
            {
                conn.Open();
                CheckExistingSchema(conn);
                Exec(conn, "PRAGMA journal_mode=WAL;");
                Exec(conn, $"PRAGMA synchronous={(_options.FullSync ? "FULL" : "NORMAL")}; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=OFF; " +
                    "PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=4000;");
                using (var tx = conn.BeginTransaction())
                {
                    Exec(conn, Schema, tx);
                    Exec(conn, $"INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '{SchemaVersion}');", tx);
                    tx.Commit();
                }
            }
            catch
            {
                conn.Dispose();
                throw;
            }
            _writer = conn;
            _initialized = true;
            _writerLoop = Task.Factory.StartNew(WriterLoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        }
        finally
        {
            _initLock.Release();
        }
    }

    private void CheckExistingSchema(SqliteConnection conn)
    {
        try
        {
            // Reading sqlite_master validates the file header without writing anything.
            using var cmd = conn.CreateCommand();
            cmd.CommandText = "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'";
            var hasMeta = Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0;
            if (!hasMeta)
            {
                cmd.CommandText = "SELECT count(*) FROM sqlite_master";
                var tables = Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
                if (tables > 0)
                    throw new InvalidDataException($"The SQLite file '{_options.Path}' is a database of something else (it has tables but no durable-engine schema); it was left untouched.");
                return;
            }
            cmd.CommandText = "SELECT value FROM meta WHERE key='schema_version'";
            var v = cmd.ExecuteScalar() as string;
            if (!int.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var version))
                throw new InvalidDataException($"The SQLite file '{_options.Path}' has no valid schema_version; it was left untouched.");
            if (version > SchemaVersion)
                throw new InvalidDataException($"The SQLite file '{_options.Path}' has schema version {version}, newer than this build supports ({SchemaVersion}); upgrade the application. The file was left untouched.");
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 26 or 11) // SQLITE_NOTADB, SQLITE_CORRUPT
        {
            throw new InvalidDataException($"The file '{_options.Path}' is not a SQLite database (or is corrupt): {ex.Message}. It was left untouched.", ex);
        }
    }

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS payloads(id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS instances(
            instance_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            execution_id TEXT,
            status INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            start_at INTEGER,
            input TEXT, input_pid INTEGER,
            output TEXT, output_pid INTEGER,
            custom_status TEXT,
            failure TEXT,
            parent_id TEXT,
            history_count INTEGER NOT NULL DEFAULT 0,
            ready_at INTEGER,
            lock_owner TEXT,
            lock_until INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX IF NOT EXISTS ix_instances_ready ON instances(ready_at) WHERE ready_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS ix_instances_status ON instances(status);
        CREATE INDEX IF NOT EXISTS ix_instances_created ON instances(created_at);
        CREATE TABLE IF NOT EXISTS messages(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            instance_id TEXT NOT NULL,
            visible_at INTEGER NOT NULL,
            event TEXT, payload_id INTEGER);
        CREATE INDEX IF NOT EXISTS ix_messages_instance ON messages(instance_id, id);
        CREATE TABLE IF NOT EXISTS history(
            instance_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            event TEXT, payload_id INTEGER,
            PRIMARY KEY(instance_id, seq)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS activities(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            instance_id TEXT NOT NULL,
            execution_id TEXT NOT NULL,
            pool TEXT NOT NULL,
            event TEXT, payload_id INTEGER,
            lock_owner TEXT,
            lock_until INTEGER NOT NULL DEFAULT 0,
            dequeue_count INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX IF NOT EXISTS ix_activities_pool ON activities(pool, lock_until, id);
        CREATE INDEX IF NOT EXISTS ix_activities_instance ON activities(instance_id);
        CREATE TABLE IF NOT EXISTS workers(worker_id TEXT PRIMARY KEY, pools TEXT NOT NULL, seen_at INTEGER NOT NULL);
        """;

    private static void Exec(SqliteConnection conn, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    // ---------------- plumbing ----------------

    private SqliteConnection Writer => _writer ?? throw new InvalidOperationException("The SQLite backend is not initialized: call InitializeAsync first.");

    /// <summary>A cached prepared command on the writer connection (only the writer loop calls it).</summary>
    private SqliteCommand W(string sql, SqliteTransaction? tx, params (string Name, object? Value)[] args)
    {
        if (!_commands.TryGetValue(sql, out var cmd))
        {
            cmd = Writer.CreateCommand();
            cmd.CommandText = sql;
            _commands[sql] = cmd;
        }
        cmd.Transaction = tx;
        cmd.Parameters.Clear();
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        return cmd;
    }

    /// <summary>
    /// Runs a write in a transaction. Writes are queued to one writer loop that commits every write waiting
    /// at that moment in one transaction (group commit), each inside its own savepoint so that one failing
    /// write rolls back alone. Callers see their result only after the commit, so durability is unchanged.
    /// </summary>
    private Task<T> WriteAsync<T>(Func<SqliteTransaction, T> work, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var op = new WriteOp<T>(work);
        if (!_writes.Writer.TryWrite(op)) throw new ObjectDisposedException(nameof(SqliteOrchestrationBackend));
        return op.Completion.Task;
    }

    private abstract class WriteOp
    {
        public abstract void Run(SqliteTransaction tx);
        public abstract void Commit();
        public abstract void Fail(Exception ex);
    }

    private sealed class WriteOp<T>(Func<SqliteTransaction, T> work) : WriteOp
    {
        private T? _result;
        private Exception? _error;
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Run(SqliteTransaction tx)
        {
            try { _result = work(tx); }
            catch (Exception ex) { _error = ex; throw; }
        }

        public override void Commit()
        {
            if (_error != null) Completion.TrySetException(_error);
            else Completion.TrySetResult(_result!);
        }

        public override void Fail(Exception ex) => Completion.TrySetException(ex);
    }

    private readonly System.Threading.Channels.Channel<WriteOp> _writes =
        System.Threading.Channels.Channel.CreateUnbounded<WriteOp>(new() { SingleReader = true });
    private Task? _writerLoop;

    private async Task WriterLoopAsync()
    {
        var batch = new List<WriteOp>(256);
        var reader = _writes.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < 256 && reader.TryRead(out var op)) batch.Add(op);
            try
            {
                using var tx = Writer.BeginTransaction(IsolationLevel.Serializable); // BEGIN IMMEDIATE
                if (batch.Count == 1)
                {
                    // Alone in the batch: no savepoint needed; a failure rolls the whole transaction back.
                    try
                    {
                        batch[0].Run(tx);
                    }
                    catch (Exception)
                    {
                        tx.Rollback();
                        batch[0].Commit();
                        continue;
                    }
                    tx.Commit();
                    batch[0].Commit();
                    continue;
                }
                for (var i = 0; i < batch.Count; i++)
                {
                    var name = "w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    tx.Save(name);
                    try
                    {
                        batch[i].Run(tx);
                        tx.Release(name);
                    }
                    catch (Exception)
                    {
                        tx.Rollback(name);
                        tx.Release(name);
                    }
                }
                tx.Commit();
                foreach (var op in batch) op.Commit();
            }
            catch (Exception ex)
            {
                foreach (var op in batch) op.Fail(ex);
            }
        }
    }

    private SqliteConnection OpenReader()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout=10000;";
        cmd.ExecuteNonQuery();
        return c;
    }

    /// <summary>Stores text inline, or in the payloads table when large; returns (inline, payloadId).</summary>
    private (string? Inline, long? PayloadId) Store(string? text, SqliteTransaction tx)
    {
        if (text is null || text.Length <= _options.MaxInlinePayloadChars) return (text, null);
        var id = (long)W("INSERT INTO payloads(data) VALUES (@d) RETURNING id", tx, ("@d", text)).ExecuteScalar()!;
        return (null, id);
    }

    private static string? ReadText(SqliteDataReader r, int inlineOrdinal, int payloadDataOrdinal) =>
        !r.IsDBNull(inlineOrdinal) ? r.GetString(inlineOrdinal) : r.IsDBNull(payloadDataOrdinal) ? null : r.GetString(payloadDataOrdinal);

    private void InsertMessage(string instanceId, HistoryEvent e, long visibleAt, SqliteTransaction tx)
    {
        var (inline, pid) = Store(HistoryJson.Serialize(e), tx);
        W("INSERT INTO messages(instance_id, visible_at, event, payload_id) VALUES (@i, @v, @e, @p)", tx,
            ("@i", instanceId), ("@v", visibleAt), ("@e", inline), ("@p", pid)).ExecuteNonQuery();
        W("UPDATE instances SET ready_at = CASE WHEN ready_at IS NULL OR ready_at > @v THEN @v ELSE ready_at END WHERE instance_id = @i", tx,
            ("@i", instanceId), ("@v", visibleAt)).ExecuteNonQuery();
    }

    private void DeleteInstanceData(string instanceId, SqliteTransaction tx)
    {
        W("""
          DELETE FROM payloads WHERE id IN (
              SELECT payload_id FROM history WHERE instance_id = @i AND payload_id IS NOT NULL
              UNION ALL SELECT payload_id FROM messages WHERE instance_id = @i AND payload_id IS NOT NULL
              UNION ALL SELECT input_pid FROM instances WHERE instance_id = @i AND input_pid IS NOT NULL
              UNION ALL SELECT output_pid FROM instances WHERE instance_id = @i AND output_pid IS NOT NULL)
          """, tx, ("@i", instanceId)).ExecuteNonQuery();
        W("DELETE FROM history WHERE instance_id = @i", tx, ("@i", instanceId)).ExecuteNonQuery();
        W("DELETE FROM messages WHERE instance_id = @i", tx, ("@i", instanceId)).ExecuteNonQuery();
        W("DELETE FROM instances WHERE instance_id = @i", tx, ("@i", instanceId)).ExecuteNonQuery();
    }

    /// <summary>Creates (or replaces a finished) instance row with its start message. Returns false if a live one exists.</summary>
    private bool CreateInstanceCore(ExecutionStartedEvent started, SqliteTransaction tx)
    {
        var existing = W("SELECT status FROM instances WHERE instance_id = @i", tx, ("@i", started.InstanceId)).ExecuteScalar();
        if (existing is long status)
        {
            if (!((OrchestrationRuntimeStatus)status).IsTerminal()) return false;
            DeleteInstanceData(started.InstanceId, tx);
        }
        var now = NowTicks;
        var startAt = started.ScheduledStartTime?.Ticks;
        var (input, inputPid) = Store(started.Input, tx);
        W("""
          INSERT INTO instances(instance_id, name, execution_id, status, created_at, updated_at, start_at, input, input_pid, parent_id, history_count)
          VALUES (@i, @n, NULL, @s, @c, @c, @start, @in, @inp, @parent, 0)
          """, tx, ("@i", started.InstanceId), ("@n", started.Name), ("@s", (int)OrchestrationRuntimeStatus.Pending), ("@c", now),
            ("@start", startAt), ("@in", input), ("@inp", inputPid), ("@parent", started.ParentInstance?.InstanceId)).ExecuteNonQuery();
        InsertMessage(started.InstanceId, started, startAt ?? now, tx);
        return true;
    }

    // ---------------- client side ----------------

    /// <inheritdoc/>
    public async Task CreateInstanceAsync(ExecutionStartedEvent started, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(started);
        var created = await WriteAsync(tx => CreateInstanceCore(started, tx), cancellation).ConfigureAwait(false);
        if (!created) throw new InstanceAlreadyExistsException(started.InstanceId);
        _orchestrationSignal.Pulse();
    }

    /// <inheritdoc/>
    public async Task<bool> SendMessageAsync(OrchestrationMessage message, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var sent = await WriteAsync(tx =>
        {
            if (W("SELECT 1 FROM instances WHERE instance_id = @i", tx, ("@i", message.InstanceId)).ExecuteScalar() is null) return false;
            InsertMessage(message.InstanceId, message.Event, message.VisibleAt?.Ticks ?? NowTicks, tx);
            return true;
        }, cancellation).ConfigureAwait(false);
        if (sent) _orchestrationSignal.Pulse();
        return sent;
    }

    private const string StateColumns = """
        i.instance_id, i.name, i.execution_id, i.status, i.created_at, i.updated_at,
        i.input, pin.data, i.output, pout.data, i.custom_status, i.failure, i.parent_id
        """;

    private const string StateJoins = """
        LEFT JOIN payloads pin ON pin.id = i.input_pid
        LEFT JOIN payloads pout ON pout.id = i.output_pid
        """;

    private static OrchestrationState ReadState(SqliteDataReader r, bool withData) => new()
    {
        InstanceId = r.GetString(0),
        Name = r.GetString(1),
        ExecutionId = r.IsDBNull(2) ? null : r.GetString(2),
        Status = (OrchestrationRuntimeStatus)r.GetInt64(3),
        CreatedAt = new DateTime(r.GetInt64(4), DateTimeKind.Utc),
        LastUpdatedAt = new DateTime(r.GetInt64(5), DateTimeKind.Utc),
        Input = withData ? ReadText(r, 6, 7) : null,
        Output = withData ? ReadText(r, 8, 9) : null,
        CustomStatus = r.IsDBNull(10) ? null : r.GetString(10),
        FailureDetails = r.IsDBNull(11) ? null : HistoryJson.DeserializeFailure(r.GetString(11)),
        ParentInstanceId = r.IsDBNull(12) ? null : r.GetString(12),
    };

    /// <inheritdoc/>
    public Task<OrchestrationState?> GetStateAsync(string instanceId, CancellationToken cancellation = default)
    {
        using var conn = OpenReader();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = $"SELECT {StateColumns} FROM instances i {StateJoins} WHERE i.instance_id = @i";
        cmd.Parameters.AddWithValue("@i", instanceId);
        using var r = cmd.ExecuteReader();
        return Task.FromResult(r.Read() ? ReadState(r, true) : null);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellation = default)
    {
        using var conn = OpenReader();
        return Task.FromResult(ReadHistory(conn, instanceId));
    }

    private static IReadOnlyList<HistoryEvent> ReadHistory(SqliteConnection conn, string instanceId)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT h.event, p.data FROM history h LEFT JOIN payloads p ON p.id = h.payload_id WHERE h.instance_id = @i ORDER BY h.seq";
        cmd.Parameters.AddWithValue("@i", instanceId);
        using var r = cmd.ExecuteReader();
        var list = new List<HistoryEvent>();
        while (r.Read()) list.Add(HistoryJson.Deserialize(ReadText(r, 0, 1)!));
        return list;
    }

    /// <inheritdoc/>
    public Task<OrchestrationQueryResult> QueryAsync(OrchestrationQuery query, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.PageSize, 1);
        using var conn = OpenReader();
        using var cmd = conn.CreateCommand();
        var where = new List<string>();
        if (query.Statuses is { Count: > 0 })
        {
            where.Add("i.status IN (SELECT value FROM json_each(@statuses))");
            cmd.Parameters.AddWithValue("@statuses", JsonSerializer.Serialize(query.Statuses.Select(s => (int)s)));
        }
        if (query.CreatedFrom is { } from) { where.Add("i.created_at >= @from"); cmd.Parameters.AddWithValue("@from", from.ToUniversalTime().Ticks); }
        if (query.CreatedTo is { } to) { where.Add("i.created_at <= @to"); cmd.Parameters.AddWithValue("@to", to.ToUniversalTime().Ticks); }
        if (!string.IsNullOrEmpty(query.InstanceIdPrefix))
        {
            where.Add("substr(i.instance_id, 1, length(@prefix)) = @prefix");
            cmd.Parameters.AddWithValue("@prefix", query.InstanceIdPrefix);
        }
        if (query.ContinuationToken is { } token) { where.Add("i.instance_id > @after"); cmd.Parameters.AddWithValue("@after", token); }
        cmd.CommandText = $"SELECT {StateColumns} FROM instances i {StateJoins} {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")} ORDER BY i.instance_id LIMIT @limit";
        cmd.Parameters.AddWithValue("@limit", query.PageSize + 1);
        using var r = cmd.ExecuteReader();
        var list = new List<OrchestrationState>();
        while (r.Read()) list.Add(ReadState(r, query.FetchInputsAndOutputs));
        string? next = null;
        if (list.Count > query.PageSize)
        {
            list.RemoveAt(list.Count - 1);
            next = list[^1].InstanceId;
        }
        return Task.FromResult(new OrchestrationQueryResult(list, next));
    }

    /// <inheritdoc/>
    public Task<int> PurgeAsync(string instanceId, CancellationToken cancellation = default) =>
        WriteAsync(tx =>
        {
            var status = W("SELECT status FROM instances WHERE instance_id = @i", tx, ("@i", instanceId)).ExecuteScalar();
            if (status is not long s || !((OrchestrationRuntimeStatus)s).IsTerminal()) return 0;
            DeleteInstanceData(instanceId, tx);
            return 1;
        }, cancellation);

    /// <inheritdoc/>
    public Task<int> PurgeAsync(PurgeFilter filter, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var statuses = (filter.Statuses is { Count: > 0 } ? filter.Statuses : Enum.GetValues<OrchestrationRuntimeStatus>())
            .Where(s => s.IsTerminal()).Select(s => (int)s).ToArray();
        return WriteAsync(tx =>
        {
            var ids = new List<string>();
            using (var r = W("""
                SELECT instance_id FROM instances WHERE status IN (SELECT value FROM json_each(@s))
                AND (@from IS NULL OR created_at >= @from) AND (@to IS NULL OR created_at <= @to)
                """, tx, ("@s", JsonSerializer.Serialize(statuses)), ("@from", filter.CreatedFrom?.ToUniversalTime().Ticks),
                ("@to", filter.CreatedTo?.ToUniversalTime().Ticks)).ExecuteReader())
            {
                while (r.Read()) ids.Add(r.GetString(0));
            }
            foreach (var id in ids) DeleteInstanceData(id, tx);
            return ids.Count;
        }, cancellation);
    }

    // ---------------- worker side: orchestrations ----------------

    private sealed record OrchestrationLease(string Token, long[] MessageIds);

    /// <inheritdoc/>
    public async Task<IReadOnlyList<OrchestrationWorkItem>> LockNextOrchestrationWorkItemsAsync(int maxCount, TimeSpan lockTimeout, CancellationToken cancellation = default)
    {
        var items = await WriteAsync(tx =>
        {
            var now = NowTicks;
            var until = now + lockTimeout.Ticks;
            var token = Guid.NewGuid().ToString("N");
            var locked = new List<(string Id, string? Exec, long Status, long Count)>();
            using (var r = W("""
                UPDATE instances SET lock_owner = @token, lock_until = @until
                WHERE instance_id IN (
                    SELECT instance_id FROM instances
                    WHERE ready_at IS NOT NULL AND ready_at <= @now AND lock_until <= @now
                      AND (status != @pending OR start_at IS NULL OR start_at <= @now)
                    ORDER BY ready_at LIMIT @n)
                RETURNING instance_id, execution_id, status, history_count
                """, tx, ("@token", token), ("@until", until), ("@now", now), ("@pending", (int)OrchestrationRuntimeStatus.Pending), ("@n", maxCount)).ExecuteReader())
            {
                while (r.Read()) locked.Add((r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2), r.GetInt64(3)));
            }
            if (locked.Count == 0) return [];
            return ReadWorkItems(locked, token, now, until, tx);
        }, cancellation).ConfigureAwait(false);
        return items;
    }

    /// <summary>Builds work items for instances just leased under <paramref name="token"/>: their visible messages, in order.</summary>
    private List<OrchestrationWorkItem> ReadWorkItems(List<(string Id, string? Exec, long Status, long Count)> locked, string token, long now, long until, SqliteTransaction tx)
    {
        var messages = new Dictionary<string, List<(long Id, OrchestrationMessage Message)>>(StringComparer.Ordinal);
        using (var r = W("""
            SELECT m.id, m.instance_id, m.event, p.data FROM messages m LEFT JOIN payloads p ON p.id = m.payload_id
            WHERE m.instance_id IN (SELECT value FROM json_each(@ids)) AND m.visible_at <= @now
            ORDER BY m.id
            """, tx, ("@ids", JsonSerializer.Serialize(locked.Select(l => l.Id))), ("@now", now)).ExecuteReader())
        {
            while (r.Read())
            {
                var instanceId = r.GetString(1);
                if (!messages.TryGetValue(instanceId, out var list)) messages[instanceId] = list = [];
                list.Add((r.GetInt64(0), new OrchestrationMessage(instanceId, HistoryJson.Deserialize(ReadText(r, 2, 3)!))));
            }
        }
        var result = new List<OrchestrationWorkItem>(locked.Count);
        foreach (var (id, exec, status, count) in locked)
        {
            var msgs = messages.GetValueOrDefault(id) ?? [];
            result.Add(new OrchestrationWorkItem
            {
                InstanceId = id,
                ExecutionId = exec,
                Status = (OrchestrationRuntimeStatus)status,
                HistoryCount = (int)count,
                Messages = msgs.Select(m => m.Message).ToList(),
                BackendState = new OrchestrationLease(token, msgs.Select(m => m.Id).ToArray()),
                LockedUntil = new DateTime(until, DateTimeKind.Utc),
            });
        }
        return result;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<HistoryEvent>> LoadHistoryAsync(OrchestrationWorkItem workItem, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        return GetHistoryAsync(workItem.InstanceId, cancellation);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<ActivityWorkItem>> CompleteOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, OrchestrationTurnResult result,
        LocalActivityLease? localLease = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(result);
        var lease = (OrchestrationLease)workItem.BackendState!;
        var leased = new List<ActivityWorkItem>();
        await WriteAsync(tx =>
        {
            leased.Clear();
            var owner = W("SELECT lock_owner FROM instances WHERE instance_id = @i", tx, ("@i", workItem.InstanceId)).ExecuteScalar() as string;
            if (owner != lease.Token) throw new WorkItemLockLostException(workItem.InstanceId);

            // Consumed messages go first: their events are either in NewEvents or deliberately dropped.
            W("DELETE FROM payloads WHERE id IN (SELECT payload_id FROM messages WHERE id IN (SELECT value FROM json_each(@ids)) AND payload_id IS NOT NULL)", tx,
                ("@ids", JsonSerializer.Serialize(lease.MessageIds))).ExecuteNonQuery();
            W("DELETE FROM messages WHERE id IN (SELECT value FROM json_each(@ids))", tx, ("@ids", JsonSerializer.Serialize(lease.MessageIds))).ExecuteNonQuery();

            if (result.NewEvents.Count > 0 || result.ContinuedAsNew != null)
            {
                var seq = workItem.HistoryCount;
                foreach (var e in result.NewEvents)
                {
                    var (inline, pid) = Store(HistoryJson.Serialize(e), tx);
                    W("INSERT INTO history(instance_id, seq, event, payload_id) VALUES (@i, @s, @e, @p)", tx,
                        ("@i", workItem.InstanceId), ("@s", seq++), ("@e", inline), ("@p", pid)).ExecuteNonQuery();
                }
                var localToken = Guid.NewGuid().ToString("N");
                foreach (var a in result.Activities)
                {
                    var (inline, pid) = Store(HistoryJson.Serialize(a.Scheduled), tx);
                    var local = localLease != null && leased.Count < localLease.MaxCount && localLease.Pools.Contains(a.Scheduled.Pool);
                    var until = local ? NowTicks + localLease!.LockTimeout.Ticks : 0;
                    var id = (long)W("""
                        INSERT INTO activities(instance_id, execution_id, pool, event, payload_id, lock_owner, lock_until, dequeue_count)
                        VALUES (@i, @x, @pool, @e, @p, @owner, @until, @dq) RETURNING id
                        """, tx, ("@i", a.InstanceId), ("@x", a.ExecutionId), ("@pool", a.Scheduled.Pool), ("@e", inline), ("@p", pid),
                        ("@owner", local ? localToken : null), ("@until", until), ("@dq", local ? 1 : 0)).ExecuteScalar()!;
                    if (local)
                    {
                        leased.Add(new ActivityWorkItem
                        {
                            Message = a,
                            BackendState = new ActivityLease(id, localToken),
                            DequeueCount = 0,
                            LockedUntil = new DateTime(until, DateTimeKind.Utc),
                        });
                    }
                }
                var now = NowTicks;
                foreach (var m in result.Messages) Route(m, now, tx);

                W("DELETE FROM payloads WHERE id IN (SELECT input_pid FROM instances WHERE instance_id = @i AND input_pid IS NOT NULL UNION ALL SELECT output_pid FROM instances WHERE instance_id = @i AND output_pid IS NOT NULL)", tx,
                    ("@i", workItem.InstanceId)).ExecuteNonQuery();
                var next = result.ContinuedAsNew;
                var (input, inputPid) = Store(next?.Input ?? result.Input, tx);
                var (output, outputPid) = next != null ? ((string?)null, (long?)null) : Store(result.Output, tx);
                var status = next != null ? OrchestrationRuntimeStatus.Running : result.Status;
                if (next != null)
                {
                    W("DELETE FROM payloads WHERE id IN (SELECT payload_id FROM history WHERE instance_id = @i AND payload_id IS NOT NULL)", tx, ("@i", workItem.InstanceId)).ExecuteNonQuery();
                    W("DELETE FROM history WHERE instance_id = @i", tx, ("@i", workItem.InstanceId)).ExecuteNonQuery();
                    InsertMessage(workItem.InstanceId, next, now, tx);
                    foreach (var carried in result.CarryOverEvents) InsertMessage(workItem.InstanceId, carried, now, tx);
                }
                W("""
                  UPDATE instances SET name = @n, execution_id = @x, status = @s, updated_at = @u, input = @in, input_pid = @inp,
                      output = @out, output_pid = @outp, custom_status = @cs, failure = @f, history_count = @hc
                  WHERE instance_id = @i
                  """, tx, ("@i", workItem.InstanceId), ("@n", result.Name), ("@x", result.ExecutionId), ("@s", (int)status), ("@u", now),
                    ("@in", input), ("@inp", inputPid), ("@out", output), ("@outp", outputPid), ("@cs", result.CustomStatus),
                    ("@f", HistoryJson.SerializeFailure(result.FailureDetails)), ("@hc", next != null ? 0 : seq)).ExecuteNonQuery();
            }
            W("""
              UPDATE instances SET lock_owner = NULL, lock_until = 0,
                  ready_at = (SELECT min(visible_at) FROM messages WHERE messages.instance_id = instances.instance_id)
              WHERE instance_id = @i
              """, tx, ("@i", workItem.InstanceId)).ExecuteNonQuery();
            return 0;
        }, cancellation).ConfigureAwait(false);
        if (result.Activities.Count > leased.Count) _activitySignal.Pulse();
        if (result.Messages.Count > 0 || result.ContinuedAsNew != null) _orchestrationSignal.Pulse();
        return leased;
    }

    private void Route(OrchestrationMessage m, long now, SqliteTransaction tx)
    {
        if (m.Event is ExecutionStartedEvent started)
        {
            CreateInstanceCore(started, tx); // a live instance with that id keeps running; the start is dropped
            return;
        }
        if (W("SELECT 1 FROM instances WHERE instance_id = @i", tx, ("@i", m.InstanceId)).ExecuteScalar() is null) return;
        InsertMessage(m.InstanceId, m.Event, m.VisibleAt?.Ticks ?? now, tx);
    }

    /// <inheritdoc/>
    public Task AbandonOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, TimeSpan delay, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var lease = (OrchestrationLease)workItem.BackendState!;
        return WriteAsync(tx => W("UPDATE instances SET lock_until = @until WHERE instance_id = @i AND lock_owner = @t", tx,
            ("@until", NowTicks + delay.Ticks), ("@i", workItem.InstanceId), ("@t", lease.Token)).ExecuteNonQuery(), cancellation);
    }

    // ---------------- worker side: activities ----------------

    private sealed record ActivityLease(long Id, string Token);

    /// <inheritdoc/>
    public async Task<IReadOnlyList<ActivityWorkItem>> LockNextActivityWorkItemsAsync(IReadOnlyCollection<string> pools, int maxCount, TimeSpan lockTimeout, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(pools);
        var poolsJson = JsonSerializer.Serialize(pools);
        return await WriteAsync<IReadOnlyList<ActivityWorkItem>>(tx =>
        {
            var now = NowTicks;
            var until = now + lockTimeout.Ticks;
            var token = Guid.NewGuid().ToString("N");
            var list = new List<ActivityWorkItem>();
            using var r = W("""
                UPDATE activities SET lock_owner = @token, lock_until = @until, dequeue_count = dequeue_count + 1
                WHERE id IN (SELECT id FROM activities WHERE pool IN (SELECT value FROM json_each(@pools)) AND lock_until <= @now ORDER BY id LIMIT @n)
                RETURNING id, instance_id, execution_id, event, (SELECT data FROM payloads WHERE payloads.id = activities.payload_id), dequeue_count
                """, tx, ("@token", token), ("@until", until), ("@pools", poolsJson), ("@now", now), ("@n", maxCount)).ExecuteReader();
            while (r.Read())
            {
                var scheduled = (TaskScheduledEvent)HistoryJson.Deserialize(ReadText(r, 3, 4)!);
                list.Add(new ActivityWorkItem
                {
                    Message = new ActivityMessage(r.GetString(1), r.GetString(2), scheduled),
                    BackendState = new ActivityLease(r.GetInt64(0), token),
                    DequeueCount = (int)r.GetInt64(5) - 1,
                    LockedUntil = new DateTime(until, DateTimeKind.Utc),
                });
            }
            return list;
        }, cancellation).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<bool> RenewActivityWorkItemLockAsync(ActivityWorkItem workItem, TimeSpan lockTimeout, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var lease = (ActivityLease)workItem.BackendState!;
        var until = NowTicks + lockTimeout.Ticks;
        var n = await WriteAsync(tx => W("UPDATE activities SET lock_until = @until WHERE id = @id AND lock_owner = @t", tx,
            ("@until", until), ("@id", lease.Id), ("@t", lease.Token)).ExecuteNonQuery(), cancellation).ConfigureAwait(false);
        if (n > 0) workItem.LockedUntil = new DateTime(until, DateTimeKind.Utc);
        return n > 0;
    }

    /// <inheritdoc/>
    public async Task CompleteActivityWorkItemAsync(ActivityWorkItem workItem, HistoryEvent result, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(result);
        var lease = (ActivityLease)workItem.BackendState!;
        var sent = await WriteAsync(tx => CompleteActivityCore(lease, workItem.Message.InstanceId, result, tx), cancellation).ConfigureAwait(false);
        if (sent) _orchestrationSignal.Pulse();
    }

    /// <inheritdoc/>
    public async Task<OrchestrationWorkItem?> CompleteActivityWorkItemAndLockAsync(ActivityWorkItem workItem, HistoryEvent result, TimeSpan lockTimeout,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(result);
        var lease = (ActivityLease)workItem.BackendState!;
        var instanceId = workItem.Message.InstanceId;
        var (sent, item) = await WriteAsync(tx =>
        {
            if (!CompleteActivityCore(lease, instanceId, result, tx)) return (false, (OrchestrationWorkItem?)null);
            // Lease the instance now only if nothing else is outstanding for it (a sequential step); a fan-out
            // keeps batching its results into fewer turns.
            if (W("SELECT 1 FROM activities WHERE instance_id = @i LIMIT 1", tx, ("@i", instanceId)).ExecuteScalar() != null) return (true, null);
            var now = NowTicks;
            var until = now + lockTimeout.Ticks;
            var token = Guid.NewGuid().ToString("N");
            var locked = new List<(string Id, string? Exec, long Status, long Count)>();
            using (var r = W("""
                UPDATE instances SET lock_owner = @token, lock_until = @until
                WHERE instance_id = @i AND lock_until <= @now AND ready_at IS NOT NULL AND ready_at <= @now
                RETURNING instance_id, execution_id, status, history_count
                """, tx, ("@token", token), ("@until", until), ("@now", now), ("@i", instanceId)).ExecuteReader())
            {
                while (r.Read()) locked.Add((r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2), r.GetInt64(3)));
            }
            return (true, locked.Count == 0 ? null : ReadWorkItems(locked, token, now, until, tx)[0]);
        }, cancellation).ConfigureAwait(false);
        if (sent && item == null) _orchestrationSignal.Pulse();
        return item;
    }

    /// <summary>Deletes the activity row and sends its result; false if it was completed already or the instance is gone.</summary>
    private bool CompleteActivityCore(ActivityLease lease, string instanceId, HistoryEvent result, SqliteTransaction tx)
    {
        long? pid;
        using (var deleted = W("DELETE FROM activities WHERE id = @id RETURNING payload_id", tx, ("@id", lease.Id)).ExecuteReader())
        {
            if (!deleted.Read()) return false; // another worker completed it already
            pid = deleted.IsDBNull(0) ? null : deleted.GetInt64(0);
        }
        if (pid is { } p) W("DELETE FROM payloads WHERE id = @p", tx, ("@p", p)).ExecuteNonQuery();
        if (W("SELECT 1 FROM instances WHERE instance_id = @i", tx, ("@i", instanceId)).ExecuteScalar() is null) return false;
        InsertMessage(instanceId, result, NowTicks, tx);
        return true;
    }

    /// <inheritdoc/>
    public async Task AbandonActivityWorkItemAsync(ActivityWorkItem workItem, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var lease = (ActivityLease)workItem.BackendState!;
        await WriteAsync(tx => W("UPDATE activities SET lock_owner = NULL, lock_until = 0 WHERE id = @id AND lock_owner = @t", tx,
            ("@id", lease.Id), ("@t", lease.Token)).ExecuteNonQuery(), cancellation).ConfigureAwait(false);
        _activitySignal.Pulse();
    }

    /// <inheritdoc/>
    public WorkSignal GetWorkSignal(WorkKind kind) => kind == WorkKind.Orchestration ? _orchestrationSignal : _activitySignal;

    /// <inheritdoc/>
    public Task HeartbeatAsync(string workerId, IReadOnlyCollection<string> pools, CancellationToken cancellation = default) =>
        WriteAsync(tx => W("INSERT INTO workers(worker_id, pools, seen_at) VALUES (@w, @p, @s) ON CONFLICT(worker_id) DO UPDATE SET pools = @p, seen_at = @s", tx,
            ("@w", workerId), ("@p", JsonSerializer.Serialize(pools)), ("@s", NowTicks)).ExecuteNonQuery(), cancellation);

    /// <inheritdoc/>
    public Task<IReadOnlySet<string>> GetLivePoolsAsync(DateTime since, CancellationToken cancellation = default)
    {
        using var conn = OpenReader();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT pools FROM workers WHERE seen_at >= @s";
        cmd.Parameters.AddWithValue("@s", since.ToUniversalTime().Ticks);
        using var r = cmd.ExecuteReader();
        var set = new HashSet<string>(StringComparer.Ordinal);
        while (r.Read()) foreach (var p in JsonSerializer.Deserialize<string[]>(r.GetString(0)) ?? []) set.Add(p);
        return Task.FromResult<IReadOnlySet<string>>(set);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _writes.Writer.TryComplete();
        if (_writerLoop != null) await _writerLoop.ConfigureAwait(false);
        await _initLock.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var c in _commands.Values) c.Dispose();
            _commands.Clear();
            if (_writer != null) SqliteConnection.ClearPool(_writer); // release the file (and its WAL) for other users
            _writer?.Dispose();
            _writer = null;
            _initialized = false;
        }
        finally
        {
            _initLock.Release();
        }
    }
}

using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// The database schema, and the checks that refuse a file that is not ours before anything is written to it.
/// A file is ours when SQLite's <c>application_id</c> header field holds <see cref="ApplicationId"/>; its
/// <c>user_version</c> header field holds the schema version.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>"DTSQ": marks the file as a Durable Task SQLite task hub store.</summary>
    public const int ApplicationId = 0x44545351;

    /// <summary>The schema version this build reads and writes.</summary>
    public const int Version = 1;

    private static readonly byte[] SqliteMagic = "SQLite format 3\0"u8.ToArray();

    // Every index costs a page write per commit that changes it, so there are only the indexes that the hot paths
    // need: locks are renewed by primary key from the ids a service holds in memory, not through an owner index.
    // Task and message ids never repeat (AUTOINCREMENT): a late completion of a task whose lock expired must not delete a
    // newer task that reused its id, and an extended session tells messages it already delivered apart by id.
    // An instance's input and output live in their own table: SQLite rewrites a whole row (with its overflow pages) on
    // every UPDATE, and the instance row is updated by every turn, while the input is written once per execution.
    // Large text columns come last in each table: SQLite stores a row's columns in order and spills the tail of a long
    // row to overflow pages, so the small columns that locks and queries read stay on the row's first page.
    public const string Ddl = """
        CREATE TABLE IF NOT EXISTS instances(
            hub TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            execution_id TEXT,
            name TEXT NOT NULL,
            version TEXT,
            status INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            completed_at INTEGER,
            scheduled_start INTEGER,
            parent_instance_id TEXT,
            generation INTEGER,
            ready_at INTEGER,
            lock_owner TEXT,
            lock_token INTEGER,
            lock_expires INTEGER NOT NULL DEFAULT 0,
            history_count INTEGER NOT NULL DEFAULT 0,
            tags TEXT,
            parent TEXT,
            failure TEXT,
            custom_status TEXT,
            PRIMARY KEY(hub, instance_id));
        CREATE INDEX IF NOT EXISTS ix_instances_ready ON instances(hub, ready_at) WHERE ready_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS ix_instances_created ON instances(hub, created_at);
        CREATE TABLE IF NOT EXISTS payloads(
            hub TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            input TEXT,
            output TEXT,
            PRIMARY KEY(hub, instance_id));
        CREATE TABLE IF NOT EXISTS history(
            hub TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            event_type INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY(hub, instance_id, seq));
        CREATE TABLE IF NOT EXISTS messages(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            hub TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            visible_at INTEGER NOT NULL,
            event_type INTEGER NOT NULL,
            data TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_messages_instance ON messages(hub, instance_id, id);
        CREATE TABLE IF NOT EXISTS tasks(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            hub TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            lock_owner TEXT,
            lock_token INTEGER,
            lock_expires INTEGER NOT NULL DEFAULT 0,
            dequeue_count INTEGER NOT NULL DEFAULT 0,
            data TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_tasks_ready ON tasks(hub, lock_expires, id);
        """;

    /// <summary>
    /// Refuses a file that is not ours, without writing to it: first the 16-byte SQLite header is read as plain bytes,
    /// then (for a SQLite file) the header fields and table names through a connection that only reads.
    /// </summary>
    public static void CheckExistingFile(string path, string connectionString)
    {
        var info = new FileInfo(path);
        if (!info.Exists || info.Length == 0) return; // a new (or empty) file becomes ours
        var header = new byte[SqliteMagic.Length];
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            var read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (read < header.Length || !header.AsSpan().SequenceEqual(SqliteMagic))
                throw new SqliteDatabaseFileException(path,
                    $"The file '{path}' is not a SQLite database (its header is not 'SQLite format 3'), so it cannot hold a Durable Task hub. It was left untouched; choose another path or move the file away.");
        }

        using var conn = new SqliteConnection(connectionString);
        try
        {
            conn.Open();
            var applicationId = Scalar(conn, "PRAGMA application_id");
            var version = Scalar(conn, "PRAGMA user_version");
            var tables = new List<string>();
            using (var cmd = conn.CreateCommand())
            {
                cmd.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
                using var r = cmd.ExecuteReader();
                while (r.Read()) tables.Add(r.GetString(0));
            }
            if (applicationId == ApplicationId)
            {
                if (version > Version)
                    throw new SqliteDatabaseFileException(path,
                        $"The file '{path}' holds a Durable Task hub of schema version {version}, written by a newer version of Serverless.DurableTask.Sqlite; this version reads schema {Version}. It was left untouched; upgrade the application.");
                return;
            }
            if (applicationId == 0 && tables.Count == 0) return; // an empty SQLite database
            var what = applicationId != 0
                ? $"SQLite application id 0x{applicationId.ToString("X8", CultureInfo.InvariantCulture)}"
                : $"tables {string.Join(", ", tables.Take(8))}{(tables.Count > 8 ? ", ..." : "")}";
            throw new SqliteDatabaseFileException(path,
                $"The file '{path}' is a SQLite database of another application ({what}), not a Durable Task hub store. It was left untouched; choose another path.");
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 26 or 11) // SQLITE_NOTADB, SQLITE_CORRUPT
        {
            throw new SqliteDatabaseFileException(path,
                $"The file '{path}' is not a readable SQLite database ({ex.Message}). It was left untouched.", ex);
        }
    }

    private static long Scalar(SqliteConnection conn, string sql)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Switches the file to WAL mode and creates the schema (idempotent, safe against a concurrent creator).</summary>
    public static void Create(SqliteConnection conn)
    {
        using (var cmd = conn.CreateCommand())
        {
            cmd.CommandText = "PRAGMA journal_mode=WAL;";
            var mode = cmd.ExecuteScalar() as string;
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException($"SQLite refused WAL mode (journal_mode is '{mode}'); is the file on a network file system?");
        }
        using var tx = conn.BeginTransaction(System.Data.IsolationLevel.Serializable);
        using (var cmd = conn.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = Ddl + $"PRAGMA application_id = {ApplicationId}; PRAGMA user_version = {Version};";
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
    }
}

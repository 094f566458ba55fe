using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Serverless.Metadata;

/// <summary>
/// The embedded metadata store: one SQLite file (WAL mode), safe for several processes at once. A store keeps
/// one open connection, used by one call at a time, with its prepared statements cached (a node's metadata
/// writes are a few dozen small statements, and preparing them again on every call cost more than running them);
/// each write is one IMMEDIATE transaction, so a crash at any point leaves the file with the previous state or
/// the new one, never a mix. The SQLite API is synchronous; the async methods complete synchronously.
/// </summary>
/// <remarks>
/// Opening checks the file before writing anything: a file that is not a SQLite database, a SQLite
/// database of something else, or a metadata database written by a newer schema version is rejected with
/// a <see cref="MetadataStoreException"/> and left byte-for-byte untouched.
/// </remarks>
public sealed class SqliteMetadataStore : IMetadataStore, IDisposable
{
    /// <summary>The schema version this code writes and reads; older files are upgraded on open.</summary>
    public const int SchemaVersion = 1;

    private const int SqliteNotADatabase = 26;
    private const int SqliteConstraint = 19;

    private readonly string connectionString;
    private readonly TimeProvider time;
    private readonly ConcurrentDictionary<(TypeKind, string), MetadataType> typeCache = new();
    private readonly Lock gate = new();
    private Db? shared;

    private SqliteMetadataStore(string path, TimeProvider time)
    {
        FilePath = path;
        this.time = time;
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = true,
            DefaultTimeout = 30,
            ForeignKeys = true,
        }.ToString();
    }

    /// <summary>The database file.</summary>
    public string FilePath { get; }

    /// <summary>
    /// Opens the store at <paramref name="path"/>, creating the file (and its folder) when absent.
    /// </summary>
    /// <param name="path">The SQLite file, e.g. <c>metadata.db</c>.</param>
    /// <param name="timeProvider">The clock for create/update times; the system clock by default.</param>
    /// <exception cref="MetadataStoreException">The file is not a metadata database, or is newer than this code.</exception>
    public static SqliteMetadataStore Open(string path, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        var existing = File.Exists(fullPath) && new FileInfo(fullPath).Length > 0;
        if (existing)
        {
            CheckExistingFile(fullPath);
        }
        else
        {
            Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        }

        var store = new SqliteMetadataStore(fullPath, timeProvider ?? TimeProvider.System);
        store.EnsureSchema();
        return store;
    }

    /// <summary>Closes the store's connection (and pooled ones) so the file can be moved or deleted. A later call opens it again.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            shared?.Close();
            shared = null;
        }

        using var connection = new SqliteConnection(connectionString);
        SqliteConnection.ClearPool(connection);
    }

    // Read-only inspection: nothing is written to a file we do not recognise.
    private static void CheckExistingFile(string path)
    {
        var readOnly = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        using var connection = new SqliteConnection(readOnly);
        try
        {
            connection.Open();
            using var tables = connection.CreateCommand();
            tables.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table'";
            var tableCount = Convert.ToInt64(tables.ExecuteScalar(), CultureInfo.InvariantCulture);
            if (tableCount == 0)
            {
                return;
            }

            using var env = connection.CreateCommand();
            env.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'mlmd_env'";
            if (Convert.ToInt64(env.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
            {
                throw new MetadataStoreException(
                    MetadataErrorKind.NotAMetadataDatabase,
                    $"'{path}' is a SQLite database but not a metadata store (it has no mlmd_env table); it was not modified.");
            }

            using var version = connection.CreateCommand();
            version.CommandText = "SELECT max(schema_version) FROM mlmd_env";
            var found = version.ExecuteScalar();
            var schemaVersion = found is null or DBNull ? 0 : Convert.ToInt64(found, CultureInfo.InvariantCulture);
            if (schemaVersion > SchemaVersion)
            {
                throw new MetadataStoreException(
                    MetadataErrorKind.NewerSchemaVersion,
                    $"'{path}' has metadata schema version {schemaVersion}, newer than version {SchemaVersion} that this software supports; " +
                    "upgrade the software to open it. The file was not modified.");
            }
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteNotADatabase)
        {
            throw new MetadataStoreException(
                MetadataErrorKind.NotAMetadataDatabase,
                $"'{path}' is not a metadata database (SQLite: {e.Message.TrimEnd('.')}); it was not modified.",
                e);
        }
    }

    private void EnsureSchema()
    {
        var create = new SqliteConnectionStringBuilder(connectionString) { Mode = SqliteOpenMode.ReadWriteCreate }.ToString();
        using var raw = new SqliteConnection(create);
        raw.Open();
        using var connection = new Db(raw);
        Execute(connection, null, "PRAGMA journal_mode = WAL");
        using var tx = connection.BeginTransaction();
        var hasEnv = Convert.ToInt64(
            Scalar(connection, tx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'mlmd_env'"),
            CultureInfo.InvariantCulture) > 0;
        if (!hasEnv)
        {
            Execute(connection, tx, Schema);
            Execute(connection, tx, "INSERT INTO mlmd_env (schema_version) VALUES ($v)", ("$v", SchemaVersion));
        }

        tx.Commit();
    }

    private const string Schema = """
        CREATE TABLE mlmd_env (schema_version INTEGER NOT NULL);
        CREATE TABLE type (
            id INTEGER PRIMARY KEY,
            kind INTEGER NOT NULL,
            name TEXT NOT NULL,
            UNIQUE (kind, name));
        CREATE TABLE type_property (
            type_id INTEGER NOT NULL REFERENCES type (id),
            name TEXT NOT NULL,
            data_type INTEGER NOT NULL,
            PRIMARY KEY (type_id, name)) WITHOUT ROWID;
        CREATE TABLE artifact (
            id INTEGER PRIMARY KEY,
            type_id INTEGER NOT NULL REFERENCES type (id),
            uri TEXT NOT NULL,
            state INTEGER NOT NULL,
            name TEXT,
            create_time INTEGER NOT NULL,
            update_time INTEGER NOT NULL);
        CREATE UNIQUE INDEX ux_artifact_name ON artifact (type_id, name) WHERE name IS NOT NULL;
        CREATE INDEX ix_artifact_uri ON artifact (uri);
        CREATE INDEX ix_artifact_type ON artifact (type_id);
        CREATE TABLE execution (
            id INTEGER PRIMARY KEY,
            type_id INTEGER NOT NULL REFERENCES type (id),
            state INTEGER NOT NULL,
            name TEXT,
            create_time INTEGER NOT NULL,
            update_time INTEGER NOT NULL);
        CREATE UNIQUE INDEX ux_execution_name ON execution (type_id, name) WHERE name IS NOT NULL;
        CREATE INDEX ix_execution_type ON execution (type_id);
        CREATE TABLE context (
            id INTEGER PRIMARY KEY,
            type_id INTEGER NOT NULL REFERENCES type (id),
            name TEXT NOT NULL,
            create_time INTEGER NOT NULL,
            update_time INTEGER NOT NULL,
            UNIQUE (type_id, name));
        CREATE TABLE property (
            owner_kind INTEGER NOT NULL,
            owner_id INTEGER NOT NULL,
            is_custom INTEGER NOT NULL,
            name TEXT NOT NULL,
            data_type INTEGER NOT NULL,
            int_value INTEGER,
            double_value REAL,
            string_value TEXT,
            PRIMARY KEY (owner_kind, owner_id, is_custom, name)) WITHOUT ROWID;
        CREATE INDEX ix_property_string ON property (owner_kind, name, string_value);
        CREATE TABLE event (
            id INTEGER PRIMARY KEY,
            artifact_id INTEGER NOT NULL REFERENCES artifact (id),
            execution_id INTEGER NOT NULL REFERENCES execution (id),
            type INTEGER NOT NULL,
            channel TEXT NOT NULL,
            channel_index INTEGER NOT NULL,
            time INTEGER NOT NULL,
            UNIQUE (artifact_id, execution_id, type, channel, channel_index));
        CREATE INDEX ix_event_execution ON event (execution_id);
        CREATE TABLE attribution (
            context_id INTEGER NOT NULL REFERENCES context (id),
            artifact_id INTEGER NOT NULL REFERENCES artifact (id),
            PRIMARY KEY (context_id, artifact_id)) WITHOUT ROWID;
        CREATE INDEX ix_attribution_artifact ON attribution (artifact_id);
        CREATE TABLE association (
            context_id INTEGER NOT NULL REFERENCES context (id),
            execution_id INTEGER NOT NULL REFERENCES execution (id),
            PRIMARY KEY (context_id, execution_id)) WITHOUT ROWID;
        CREATE INDEX ix_association_execution ON association (execution_id);
        """;

    // ---------------------------------------------------------------- types

    /// <inheritdoc />
    public Task<MetadataType> PutArtifactTypeAsync(string name, IReadOnlyDictionary<string, PropertyType>? properties = null, CancellationToken cancellation = default) =>
        PutType(TypeKind.Artifact, name, properties, cancellation);

    /// <inheritdoc />
    public Task<MetadataType> PutExecutionTypeAsync(string name, IReadOnlyDictionary<string, PropertyType>? properties = null, CancellationToken cancellation = default) =>
        PutType(TypeKind.Execution, name, properties, cancellation);

    /// <inheritdoc />
    public Task<MetadataType> PutContextTypeAsync(string name, IReadOnlyDictionary<string, PropertyType>? properties = null, CancellationToken cancellation = default) =>
        PutType(TypeKind.Context, name, properties, cancellation);

    /// <inheritdoc />
    public Task<MetadataType?> GetTypeAsync(TypeKind kind, string name, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        return Task.FromResult(ReadType(connection, null, kind, name));
    }

    private Task<MetadataType> PutType(TypeKind kind, string name, IReadOnlyDictionary<string, PropertyType>? properties, CancellationToken cancellation)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        using var tx = connection.BeginTransaction();
        var existing = ReadType(connection, tx, kind, name);
        long id;
        if (existing is null)
        {
            id = Convert.ToInt64(
                Scalar(connection, tx, "INSERT INTO type (kind, name) VALUES ($k, $n) RETURNING id", ("$k", (int)kind), ("$n", name)),
                CultureInfo.InvariantCulture);
        }
        else
        {
            id = existing.Id;
        }

        foreach (var (propertyName, dataType) in properties ?? new Dictionary<string, PropertyType>())
        {
            if (dataType == PropertyType.Unknown)
            {
                throw new ArgumentException($"Property '{propertyName}' of {Describe(kind)} type '{name}' has no value type.", nameof(properties));
            }

            if (existing is not null && existing.Properties.TryGetValue(propertyName, out var stored))
            {
                if (stored != dataType)
                {
                    throw new MetadataStoreException(
                        MetadataErrorKind.AlreadyExists,
                        $"{Describe(kind)} type '{name}' already declares property '{propertyName}' as {stored}, not {dataType}.");
                }

                continue;
            }

            Execute(connection, tx, "INSERT INTO type_property (type_id, name, data_type) VALUES ($t, $n, $d)",
                ("$t", id), ("$n", propertyName), ("$d", (int)dataType));
        }

        var result = ReadType(connection, tx, kind, name)!;
        tx.Commit();
        typeCache[(kind, name)] = result;
        return Task.FromResult(result);
    }

    private static MetadataType? ReadType(Db connection, SqliteTransaction? tx, TypeKind kind, string name)
    {
        var command = Command(connection, tx,
            "SELECT t.id, p.name, p.data_type FROM type t LEFT JOIN type_property p ON p.type_id = t.id WHERE t.kind = $k AND t.name = $n",
            ("$k", (int)kind), ("$n", name));
        using var reader = command.ExecuteReader();
        long? id = null;
        var properties = new Dictionary<string, PropertyType>(StringComparer.Ordinal);
        while (reader.Read())
        {
            id = reader.GetInt64(0);
            if (!reader.IsDBNull(1))
            {
                properties[reader.GetString(1)] = (PropertyType)reader.GetInt32(2);
            }
        }

        return id is null ? null : new MetadataType(id.Value, kind, name, properties);
    }

    private MetadataType RequireType(Db connection, SqliteTransaction? tx, TypeKind kind, string name, bool refresh = false)
    {
        if (!refresh && typeCache.TryGetValue((kind, name), out var cached))
        {
            return cached;
        }

        var type = ReadType(connection, tx, kind, name)
            ?? throw new MetadataStoreException(MetadataErrorKind.NotFound, $"{Describe(kind)} type '{name}' is not registered.");
        typeCache[(kind, name)] = type;
        return type;
    }

    private static string Describe(TypeKind kind) => kind switch
    {
        TypeKind.Artifact => "Artifact",
        TypeKind.Execution => "Execution",
        _ => "Context",
    };

    // ---------------------------------------------------------------- writes

    /// <inheritdoc />
    public Task<Artifact> PutArtifactAsync(Artifact artifact, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        using var tx = connection.BeginTransaction();
        var stored = WriteArtifact(connection, tx, artifact, Now());
        tx.Commit();
        return Task.FromResult(stored);
    }

    /// <inheritdoc />
    public Task<Execution> PutExecutionAsync(Execution execution, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(execution);
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        using var tx = connection.BeginTransaction();
        var stored = WriteExecution(connection, tx, execution, Now());
        tx.Commit();
        return Task.FromResult(stored);
    }

    /// <inheritdoc />
    public Task<Context> PutContextAsync(Context context, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        using var tx = connection.BeginTransaction();
        var stored = WriteContext(connection, tx, context, Now());
        tx.Commit();
        return Task.FromResult(stored);
    }

    /// <inheritdoc />
    public Task<PutExecutionResult> PutExecutionAsync(Execution execution, IReadOnlyList<ArtifactAndEvent> artifactEvents, IReadOnlyList<Context> contexts, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(artifactEvents);
        ArgumentNullException.ThrowIfNull(contexts);
        cancellation.ThrowIfCancellationRequested();
        var now = Now();
        using var connection = OpenConnection();
        using var tx = connection.BeginTransaction();
        var storedExecution = WriteExecution(connection, tx, execution, now);
        var storedArtifacts = new List<Artifact>(artifactEvents.Count);
        foreach (var item in artifactEvents)
        {
            ArgumentNullException.ThrowIfNull(item);
            var artifact = WriteArtifact(connection, tx, item.Artifact, now);
            storedArtifacts.Add(artifact);
            WriteEvent(connection, tx, new Event(artifact.Id, storedExecution.Id, item.EventType, item.Channel, item.Index), now);
        }

        var storedContexts = new List<Context>(contexts.Count);
        foreach (var context in contexts)
        {
            var stored = WriteContext(connection, tx, context, now);
            storedContexts.Add(stored);
            Execute(connection, tx, "INSERT OR IGNORE INTO association (context_id, execution_id) VALUES ($c, $e)",
                ("$c", stored.Id), ("$e", storedExecution.Id));
            foreach (var artifact in storedArtifacts)
            {
                Execute(connection, tx, "INSERT OR IGNORE INTO attribution (context_id, artifact_id) VALUES ($c, $a)",
                    ("$c", stored.Id), ("$a", artifact.Id));
            }
        }

        tx.Commit();
        return Task.FromResult(new PutExecutionResult(storedExecution, storedArtifacts, storedContexts));
    }

    /// <inheritdoc />
    public Task PutEventsAsync(IReadOnlyList<Event> events, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        cancellation.ThrowIfCancellationRequested();
        var now = Now();
        using var connection = OpenConnection();
        using var tx = connection.BeginTransaction();
        foreach (var e in events)
        {
            WriteEvent(connection, tx, e, now);
        }

        tx.Commit();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task PutAttributionsAndAssociationsAsync(IReadOnlyList<Attribution> attributions, IReadOnlyList<Association> associations, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(attributions);
        ArgumentNullException.ThrowIfNull(associations);
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        using var tx = connection.BeginTransaction();
        try
        {
            foreach (var a in attributions)
            {
                Execute(connection, tx, "INSERT OR IGNORE INTO attribution (context_id, artifact_id) VALUES ($c, $a)", ("$c", a.ContextId), ("$a", a.ArtifactId));
            }

            foreach (var a in associations)
            {
                Execute(connection, tx, "INSERT OR IGNORE INTO association (context_id, execution_id) VALUES ($c, $e)", ("$c", a.ContextId), ("$e", a.ExecutionId));
            }
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteConstraint)
        {
            throw new MetadataStoreException(MetadataErrorKind.NotFound, "An attribution or association refers to a context, artifact or execution that does not exist.", e);
        }

        tx.Commit();
        return Task.CompletedTask;
    }

    private Artifact WriteArtifact(Db connection, SqliteTransaction tx, Artifact artifact, long now)
    {
        var type = RequireType(connection, tx, TypeKind.Artifact, artifact.Type);
        type = CheckProperties(connection, tx, type, artifact.Properties, $"artifact {Label(artifact.Id, artifact.Name)}");
        var id = Upsert(connection, tx, "artifact", artifact.Id, now,
            "INSERT INTO artifact (type_id, uri, state, name, create_time, update_time) VALUES ($t, $u, $s, $n, $now, $now) RETURNING id",
            "UPDATE artifact SET type_id = $t, uri = $u, state = $s, name = $n, update_time = $now WHERE id = $id",
            $"artifact {Label(artifact.Id, artifact.Name)} of type '{artifact.Type}'",
            ("$t", type.Id), ("$u", artifact.Uri), ("$s", (int)artifact.State), ("$n", artifact.Name));
        WriteProperties(connection, tx, TypeKind.Artifact, id, artifact.Properties, artifact.CustomProperties);
        return ReadArtifacts(connection, tx, "a.id = $id", ("$id", id))[0];
    }

    private Execution WriteExecution(Db connection, SqliteTransaction tx, Execution execution, long now)
    {
        var type = RequireType(connection, tx, TypeKind.Execution, execution.Type);
        type = CheckProperties(connection, tx, type, execution.Properties, $"execution {Label(execution.Id, execution.Name)}");
        var id = Upsert(connection, tx, "execution", execution.Id, now,
            "INSERT INTO execution (type_id, state, name, create_time, update_time) VALUES ($t, $s, $n, $now, $now) RETURNING id",
            "UPDATE execution SET type_id = $t, state = $s, name = $n, update_time = $now WHERE id = $id",
            $"execution {Label(execution.Id, execution.Name)} of type '{execution.Type}'",
            ("$t", type.Id), ("$s", (int)execution.State), ("$n", execution.Name));
        WriteProperties(connection, tx, TypeKind.Execution, id, execution.Properties, execution.CustomProperties);
        return ReadExecutions(connection, tx, "e.id = $id", ("$id", id))[0];
    }

    private Context WriteContext(Db connection, SqliteTransaction tx, Context context, long now)
    {
        ArgumentException.ThrowIfNullOrEmpty(context.Name);
        var type = RequireType(connection, tx, TypeKind.Context, context.Type);
        type = CheckProperties(connection, tx, type, context.Properties, $"context '{context.Name}'");
        var id = context.Id;
        if (id == 0)
        {
            var existing = Scalar(connection, tx, "SELECT id FROM context WHERE type_id = $t AND name = $n", ("$t", type.Id), ("$n", context.Name));
            id = existing is null ? 0 : Convert.ToInt64(existing, CultureInfo.InvariantCulture);
        }

        id = Upsert(connection, tx, "context", id, now,
            "INSERT INTO context (type_id, name, create_time, update_time) VALUES ($t, $n, $now, $now) RETURNING id",
            "UPDATE context SET type_id = $t, name = $n, update_time = $now WHERE id = $id",
            $"context '{context.Name}' of type '{context.Type}'",
            ("$t", type.Id), ("$n", context.Name));
        WriteProperties(connection, tx, TypeKind.Context, id, context.Properties, context.CustomProperties);
        return ReadContexts(connection, tx, "c.id = $id", ("$id", id))[0];
    }

    private static long Upsert(Db connection, SqliteTransaction tx, string table, long id, long now, string insert, string update, string what, params (string Name, object? Value)[] parameters)
    {
        var all = parameters.Append(("$now", now)).Append(("$id", id)).ToArray();
        try
        {
            if (id == 0)
            {
                return Convert.ToInt64(Scalar(connection, tx, insert, all), CultureInfo.InvariantCulture);
            }

            if (Execute(connection, tx, update, all) == 0)
            {
                throw new MetadataStoreException(MetadataErrorKind.NotFound, $"Cannot update {what}: no {table} with id {id}.");
            }

            return id;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteConstraint)
        {
            throw new MetadataStoreException(MetadataErrorKind.AlreadyExists, $"Cannot store {what}: its name is already taken within its type.", e);
        }
    }

    private MetadataType CheckProperties(Db connection, SqliteTransaction tx, MetadataType type, IReadOnlyDictionary<string, MetadataValue> properties, string owner)
    {
        ArgumentNullException.ThrowIfNull(properties);
        foreach (var (name, value) in properties)
        {
            ArgumentNullException.ThrowIfNull(value, name);
            if (!type.Properties.ContainsKey(name))
            {
                // Another process may have added the property since we cached the type.
                type = RequireType(connection, tx, type.Kind, type.Name, refresh: true);
            }

            if (!type.Properties.TryGetValue(name, out var declared))
            {
                throw new MetadataStoreException(MetadataErrorKind.InvalidProperty,
                    $"Property '{name}' of {owner} is not declared by type '{type.Name}'; declare it or use a custom property.");
            }

            if (declared != value.Type)
            {
                throw new MetadataStoreException(MetadataErrorKind.InvalidProperty,
                    $"Property '{name}' of {owner} is declared {declared} by type '{type.Name}' but the value is {value.Type}.");
            }
        }

        return type;
    }

    private static void WriteProperties(Db connection, SqliteTransaction tx, TypeKind owner, long id, IReadOnlyDictionary<string, MetadataValue> properties, IReadOnlyDictionary<string, MetadataValue> custom)
    {
        ArgumentNullException.ThrowIfNull(custom);
        Execute(connection, tx, "DELETE FROM property WHERE owner_kind = $k AND owner_id = $id", ("$k", (int)owner), ("$id", id));
        var insert = Command(connection, tx,
            "INSERT INTO property (owner_kind, owner_id, is_custom, name, data_type, int_value, double_value, string_value) VALUES ($k, $id, $c, $n, $d, $i, $f, $s)",
            ("$k", (int)owner), ("$id", id), ("$c", 0), ("$n", ""), ("$d", 0), ("$i", null), ("$f", null), ("$s", null));
        foreach (var (map, isCustom) in new[] { (properties, 0), (custom, 1) })
        {
            foreach (var (name, value) in map)
            {
                ArgumentNullException.ThrowIfNull(value, name);
                insert.Parameters["$c"].Value = isCustom;
                insert.Parameters["$n"].Value = name;
                insert.Parameters["$d"].Value = (int)value.Type;
                insert.Parameters["$i"].Value = value.Type is PropertyType.Int or PropertyType.Boolean
                    ? (value.Type == PropertyType.Int ? value.IntValue : (value.BoolValue ? 1L : 0L))
                    : DBNull.Value;
                insert.Parameters["$f"].Value = value.Type == PropertyType.Double ? value.DoubleValue : DBNull.Value;
                insert.Parameters["$s"].Value = value.Type == PropertyType.String ? value.StringValue : DBNull.Value;
                insert.ExecuteNonQuery();
            }
        }
    }

    private static void WriteEvent(Db connection, SqliteTransaction tx, Event e, long now)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(e.Channel);
        try
        {
            Execute(connection, tx,
                "INSERT OR IGNORE INTO event (artifact_id, execution_id, type, channel, channel_index, time) VALUES ($a, $e, $t, $c, $i, $now)",
                ("$a", e.ArtifactId), ("$e", e.ExecutionId), ("$t", (int)e.Type), ("$c", e.Channel), ("$i", e.Index),
                ("$now", e.Time == default ? now : e.Time.ToUnixTimeMilliseconds()));
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteConstraint)
        {
            throw new MetadataStoreException(MetadataErrorKind.NotFound,
                $"Event {e.Type} '{e.Channel}' refers to artifact {e.ArtifactId} or execution {e.ExecutionId}, which does not exist.", ex);
        }
    }

    private static string Label(long id, string? name) => id != 0 ? $"#{id}" : name is null ? "(new)" : $"'{name}'";

    // ---------------------------------------------------------------- reads

    /// <inheritdoc />
    public Task<Artifact?> GetArtifactAsync(long id, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        return Task.FromResult(ReadArtifacts(connection, null, "a.id = $id", ("$id", id)).FirstOrDefault());
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Artifact>> GetArtifactsByIdAsync(IReadOnlyCollection<long> ids, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        cancellation.ThrowIfCancellationRequested();
        if (ids.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<Artifact>>([]);
        }

        using var connection = OpenConnection();
        return Task.FromResult<IReadOnlyList<Artifact>>(ReadArtifacts(connection, null, "a.id IN (SELECT value FROM json_each($ids))", ("$ids", Json(ids))));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Artifact>> GetArtifactsByTypeAsync(string type, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        return Task.FromResult<IReadOnlyList<Artifact>>(ReadArtifacts(connection, null, "t.name = $type", ("$type", type)));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Artifact>> GetArtifactsByUriAsync(string uri, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        return Task.FromResult<IReadOnlyList<Artifact>>(ReadArtifacts(connection, null, "a.uri = $uri", ("$uri", uri)));
    }

    /// <inheritdoc />
    public Task<Execution?> GetExecutionAsync(long id, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        return Task.FromResult(ReadExecutions(connection, null, "e.id = $id", ("$id", id)).FirstOrDefault());
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Execution>> GetExecutionsByIdAsync(IReadOnlyCollection<long> ids, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        cancellation.ThrowIfCancellationRequested();
        if (ids.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<Execution>>([]);
        }

        using var connection = OpenConnection();
        return Task.FromResult<IReadOnlyList<Execution>>(ReadExecutions(connection, null, "e.id IN (SELECT value FROM json_each($ids))", ("$ids", Json(ids))));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Execution>> GetExecutionsByTypeAsync(string type, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        return Task.FromResult<IReadOnlyList<Execution>>(ReadExecutions(connection, null, "t.name = $type", ("$type", type)));
    }

    /// <inheritdoc />
    public Task<Execution?> GetExecutionByNameAsync(string type, string name, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentException.ThrowIfNullOrEmpty(name);
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        return Task.FromResult(ReadExecutions(connection, null, "t.name = $type AND e.name = $name", ("$type", type), ("$name", name)).FirstOrDefault());
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Execution>> GetExecutionsByPropertyAsync(string name, MetadataValue value, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        cancellation.ThrowIfCancellationRequested();
        var column = value.Type switch
        {
            PropertyType.String => "string_value",
            PropertyType.Double => "double_value",
            _ => "int_value",
        };
        object stored = value.Type switch
        {
            PropertyType.String => value.StringValue!,
            PropertyType.Double => value.DoubleValue,
            PropertyType.Boolean => value.BoolValue ? 1L : 0L,
            _ => value.IntValue,
        };
        using var connection = OpenConnection();
        var found = ReadExecutions(connection, null,
            $"e.id IN (SELECT owner_id FROM property WHERE owner_kind = {(int)TypeKind.Execution} AND name = $name AND data_type = $d AND {column} = $v)",
            ("$name", name), ("$d", (int)value.Type), ("$v", stored));
        found.Reverse();
        return Task.FromResult<IReadOnlyList<Execution>>(found);
    }

    /// <inheritdoc />
    public Task<Context?> GetContextAsync(string type, string name, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentException.ThrowIfNullOrEmpty(name);
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        return Task.FromResult(ReadContexts(connection, null, "t.name = $type AND c.name = $name", ("$type", type), ("$name", name)).FirstOrDefault());
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Context>> GetContextsByExecutionAsync(long executionId, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        return Task.FromResult<IReadOnlyList<Context>>(ReadContexts(connection, null,
            "c.id IN (SELECT context_id FROM association WHERE execution_id = $id)", ("$id", executionId)));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Context>> GetContextsByArtifactAsync(long artifactId, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        return Task.FromResult<IReadOnlyList<Context>>(ReadContexts(connection, null,
            "c.id IN (SELECT context_id FROM attribution WHERE artifact_id = $id)", ("$id", artifactId)));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Execution>> GetExecutionsByContextAsync(long contextId, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        return Task.FromResult<IReadOnlyList<Execution>>(ReadExecutions(connection, null,
            "e.id IN (SELECT execution_id FROM association WHERE context_id = $id)", ("$id", contextId)));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Artifact>> GetArtifactsByContextAsync(long contextId, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        using var connection = OpenConnection();
        return Task.FromResult<IReadOnlyList<Artifact>>(ReadArtifacts(connection, null,
            "a.id IN (SELECT artifact_id FROM attribution WHERE context_id = $id)", ("$id", contextId)));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Event>> GetEventsByExecutionIdsAsync(IReadOnlyCollection<long> executionIds, CancellationToken cancellation = default) =>
        ReadEvents("execution_id", executionIds, cancellation);

    /// <inheritdoc />
    public Task<IReadOnlyList<Event>> GetEventsByArtifactIdsAsync(IReadOnlyCollection<long> artifactIds, CancellationToken cancellation = default) =>
        ReadEvents("artifact_id", artifactIds, cancellation);

    private Task<IReadOnlyList<Event>> ReadEvents(string column, IReadOnlyCollection<long> ids, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(ids);
        cancellation.ThrowIfCancellationRequested();
        if (ids.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<Event>>([]);
        }

        using var connection = OpenConnection();
        var command = Command(connection, null,
            $"SELECT artifact_id, execution_id, type, channel, channel_index, time FROM event WHERE {column} IN (SELECT value FROM json_each($ids)) ORDER BY id",
            ("$ids", Json(ids)));
        using var reader = command.ExecuteReader();
        var events = new List<Event>();
        while (reader.Read())
        {
            events.Add(new Event(reader.GetInt64(0), reader.GetInt64(1), (EventType)reader.GetInt32(2), reader.GetString(3), reader.GetInt32(4),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
        }

        return Task.FromResult<IReadOnlyList<Event>>(events);
    }

    private static List<Artifact> ReadArtifacts(Db connection, SqliteTransaction? tx, string where, params (string Name, object? Value)[] parameters)
    {
        var rows = new List<Artifact>();
        var command = Command(connection, tx,
            $"SELECT a.id, t.name, a.uri, a.state, a.name, a.create_time, a.update_time FROM artifact a JOIN type t ON t.id = a.type_id WHERE {where} ORDER BY a.id",
            parameters);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                rows.Add(new Artifact
                {
                    Id = reader.GetInt64(0),
                    Type = reader.GetString(1),
                    Uri = reader.GetString(2),
                    State = (ArtifactState)reader.GetInt32(3),
                    Name = reader.IsDBNull(4) ? null : reader.GetString(4),
                    CreateTime = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                    LastUpdateTime = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
                });
            }
        }

        var props = ReadProperties(connection, tx, TypeKind.Artifact, rows.Select(r => r.Id));
        return rows.Select(r => props.TryGetValue(r.Id, out var p) ? r with { Properties = p.Properties, CustomProperties = p.Custom } : r).ToList();
    }

    private static List<Execution> ReadExecutions(Db connection, SqliteTransaction? tx, string where, params (string Name, object? Value)[] parameters)
    {
        var rows = new List<Execution>();
        var command = Command(connection, tx,
            $"SELECT e.id, t.name, e.state, e.name, e.create_time, e.update_time FROM execution e JOIN type t ON t.id = e.type_id WHERE {where} ORDER BY e.id",
            parameters);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                rows.Add(new Execution
                {
                    Id = reader.GetInt64(0),
                    Type = reader.GetString(1),
                    State = (ExecutionState)reader.GetInt32(2),
                    Name = reader.IsDBNull(3) ? null : reader.GetString(3),
                    CreateTime = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                    LastUpdateTime = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                });
            }
        }

        var props = ReadProperties(connection, tx, TypeKind.Execution, rows.Select(r => r.Id));
        return rows.Select(r => props.TryGetValue(r.Id, out var p) ? r with { Properties = p.Properties, CustomProperties = p.Custom } : r).ToList();
    }

    private static List<Context> ReadContexts(Db connection, SqliteTransaction? tx, string where, params (string Name, object? Value)[] parameters)
    {
        var rows = new List<Context>();
        var command = Command(connection, tx,
            $"SELECT c.id, t.name, c.name, c.create_time, c.update_time FROM context c JOIN type t ON t.id = c.type_id WHERE {where} ORDER BY c.id",
            parameters);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                rows.Add(new Context
                {
                    Id = reader.GetInt64(0),
                    Type = reader.GetString(1),
                    Name = reader.GetString(2),
                    CreateTime = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                    LastUpdateTime = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                });
            }
        }

        var props = ReadProperties(connection, tx, TypeKind.Context, rows.Select(r => r.Id));
        return rows.Select(r => props.TryGetValue(r.Id, out var p) ? r with { Properties = p.Properties, CustomProperties = p.Custom } : r).ToList();
    }

    private static Dictionary<long, (Dictionary<string, MetadataValue> Properties, Dictionary<string, MetadataValue> Custom)> ReadProperties(
        Db connection, SqliteTransaction? tx, TypeKind owner, IEnumerable<long> ids)
    {
        var result = new Dictionary<long, (Dictionary<string, MetadataValue>, Dictionary<string, MetadataValue>)>();
        var idList = ids.ToList();
        if (idList.Count == 0)
        {
            return result;
        }

        var command = Command(connection, tx,
            "SELECT owner_id, is_custom, name, data_type, int_value, double_value, string_value FROM property " +
            "WHERE owner_kind = $k AND owner_id IN (SELECT value FROM json_each($ids))",
            ("$k", (int)owner), ("$ids", Json(idList)));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var id = reader.GetInt64(0);
            if (!result.TryGetValue(id, out var maps))
            {
                maps = (new Dictionary<string, MetadataValue>(StringComparer.Ordinal), new Dictionary<string, MetadataValue>(StringComparer.Ordinal));
                result[id] = maps;
            }

            var value = (PropertyType)reader.GetInt32(3) switch
            {
                PropertyType.Int => MetadataValue.FromInt(reader.GetInt64(4)),
                PropertyType.Boolean => MetadataValue.FromBool(reader.GetInt64(4) != 0),
                PropertyType.Double => MetadataValue.FromDouble(reader.GetDouble(5)),
                _ => MetadataValue.FromString(reader.GetString(6)),
            };
            (reader.GetInt32(1) == 0 ? maps.Item1 : maps.Item2)[reader.GetString(2)] = value;
        }

        return result;
    }

    // ---------------------------------------------------------------- plumbing

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();

    // The store's one connection, held until the returned lease is disposed (calls are short and synchronous).
    private Lease OpenConnection()
    {
        gate.Enter();
        try
        {
            if (shared is null)
            {
                var connection = new SqliteConnection(connectionString);
                connection.Open();
                shared = new Db(connection);
                // WAL makes NORMAL crash-safe (a commit is atomic; only the last commits can be lost on power loss).
                Execute(shared, null, "PRAGMA synchronous = NORMAL");
            }

            return new Lease(shared, gate);
        }
        catch
        {
            gate.Exit();
            throw;
        }
    }

    /// <summary>A connection with its prepared commands, one per SQL text.</summary>
    private sealed class Db(SqliteConnection connection) : IDisposable
    {
        private readonly Dictionary<string, SqliteCommand> commands = new(StringComparer.Ordinal);

        public SqliteTransaction BeginTransaction() => connection.BeginTransaction();

        public SqliteCommand Prepared(string sql)
        {
            if (!commands.TryGetValue(sql, out var command))
            {
                command = connection.CreateCommand();
                command.CommandText = sql;
                commands[sql] = command;
            }

            command.Parameters.Clear();
            return command;
        }

        public void Close()
        {
            foreach (var command in commands.Values)
            {
                command.Dispose();
            }

            commands.Clear();
            connection.Dispose();
        }

        public void Dispose() => Close();
    }

    /// <summary>Exclusive use of the store's connection until disposed.</summary>
    private readonly struct Lease(Db db, Lock gate) : IDisposable
    {
        public Db Db { get; } = db;

        public SqliteTransaction BeginTransaction() => Db.BeginTransaction();

        public static implicit operator Db(Lease lease) => lease.Db;

        public void Dispose() => gate.Exit();
    }

    private static string Json(IEnumerable<long> ids) => JsonSerializer.Serialize(ids);

    // A cached, prepared command: callers use it and leave it undisposed (the connection owns it).
    private static SqliteCommand Command(Db connection, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.Prepared(sql);
        command.Transaction = tx;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static int Execute(Db connection, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = Command(connection, tx, sql, parameters);
        return command.ExecuteNonQuery();
    }

    private static object? Scalar(Db connection, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = Command(connection, tx, sql, parameters);
        return command.ExecuteScalar();
    }
}

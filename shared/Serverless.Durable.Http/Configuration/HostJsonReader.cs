using System.Text.Json;

namespace Serverless.Durable.Http.Configuration;

/// <summary>A host.json setting has a wrong type or value. The message names the setting and the file.</summary>
public sealed class HostJsonException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HostJsonException(string setting, string source, string problem, Exception? inner = null)
        : base($"{source}: setting '{setting}' {problem}", inner)
    {
        Setting = setting;
        FilePath = source;
    }

    /// <summary>The setting's path, e.g. <c>extensions.durableTask.maxConcurrentActivityFunctions</c>.</summary>
    public string Setting { get; }

    /// <summary>The file (or source name) that holds it.</summary>
    public string FilePath { get; }
}

/// <summary>
/// Reads <c>extensions.durableTask</c> of a host.json in Durable Functions' schema. Property names match
/// case-insensitively and comments and trailing commas are allowed, as the Functions host does; settings we do
/// not use are ignored, so a Durable Functions host.json reads unchanged. A wrong type or value fails with a
/// <see cref="HostJsonException"/> naming the setting and the file, at start-up rather than at first use.
/// </summary>
public static class HostJsonReader
{
    private const string Root = "extensions.durableTask";

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads a host.json file. A missing file gives the defaults (Durable Functions runs without one too).</summary>
    public static DurableTaskHostSettings Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full) ?? Directory.GetCurrentDirectory();
        if (!File.Exists(full)) return new DurableTaskHostSettings { BaseDirectory = folder, SourcePath = full };
        return Parse(File.ReadAllText(full), full, folder);
    }

    /// <summary>Parses host.json text; <paramref name="sourceName"/> names it in errors, <paramref name="baseDirectory"/>
    /// resolves relative paths (default: the current directory).</summary>
    public static DurableTaskHostSettings Parse(string json, string sourceName, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceName);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new HostJsonException("(file)", sourceName, $"is not valid JSON: {ex.Message}", ex);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new HostJsonException("(root)", sourceName, "must be a JSON object.");
            var extensions = ObjectOrNull(Get(doc.RootElement, "extensions"), "extensions", sourceName);
            var durable = extensions is { } e ? ObjectOrNull(Get(e, "durableTask"), Root, sourceName) : null;
            var settings = durable is { } d ? Read(d, sourceName) : new Reading();
            return new DurableTaskHostSettings
            {
                HubName = settings.HubName ?? DurableTaskHostSettings.DefaultHubName,
                StorageProvider = settings.Storage ?? new DurableStorageProviderSettings(),
                MaxConcurrentActivityFunctions = settings.MaxActivities,
                MaxConcurrentOrchestratorFunctions = settings.MaxOrchestrators,
                ActivityPools = settings.ActivityPools ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase),
                WorkerPools = settings.WorkerPools,
                BaseDirectory = baseDirectory ?? Directory.GetCurrentDirectory(),
                SourcePath = sourceName,
            };
        }
    }

    private sealed class Reading
    {
        public string? HubName;
        public DurableStorageProviderSettings? Storage;
        public int? MaxActivities, MaxOrchestrators;
        public Dictionary<string, string>? ActivityPools;
        public List<string>? WorkerPools;
    }

    private static Reading Read(JsonElement d, string source)
    {
        var r = new Reading();
        if (Get(d, "hubName") is { } hub)
        {
            var name = String(hub, $"{Root}.hubName", source);
            // Durable Functions' rule (task hub names become table/queue names): 3-45 letters or digits, starting with a letter.
            if (name.Length is < 3 or > 45 || !char.IsAsciiLetter(name[0]) || !name.All(char.IsAsciiLetterOrDigit))
                throw new HostJsonException($"{Root}.hubName", source, $"must be 3 to 45 letters or digits starting with a letter; got '{name}'.");
            r.HubName = name;
        }
        if (ObjectOrNull(Get(d, "storageProvider"), $"{Root}.storageProvider", source) is { } sp) r.Storage = ReadStorage(sp, source);
        r.MaxActivities = Concurrency(Get(d, "maxConcurrentActivityFunctions"), $"{Root}.maxConcurrentActivityFunctions", source);
        r.MaxOrchestrators = Concurrency(Get(d, "maxConcurrentOrchestratorFunctions"), $"{Root}.maxConcurrentOrchestratorFunctions", source);
        if (ObjectOrNull(Get(d, "activityPools"), $"{Root}.activityPools", source) is { } pools)
        {
            r.ActivityPools = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var p in pools.EnumerateObject())
            {
                var setting = $"{Root}.activityPools.{p.Name}";
                if (p.Name.Trim().Length == 0) throw new HostJsonException(setting, source, "has an empty activity name.");
                r.ActivityPools[p.Name] = PoolName(p.Value, setting, source);
            }
        }
        if (Get(d, "workerPools") is { } wp)
        {
            var setting = $"{Root}.workerPools";
            if (wp.ValueKind != JsonValueKind.Array) throw new HostJsonException(setting, source, $"must be an array of pool names; got {Kind(wp)}.");
            r.WorkerPools = [];
            var i = 0;
            foreach (var item in wp.EnumerateArray())
            {
                var pool = PoolName(item, $"{setting}[{i++}]", source);
                if (!r.WorkerPools.Contains(pool, StringComparer.Ordinal)) r.WorkerPools.Add(pool);
            }
        }
        return r;
    }

    private static DurableStorageProviderSettings ReadStorage(JsonElement sp, string source)
    {
        var prefix = $"{Root}.storageProvider";
        var type = DurableStorageProviderType.Sqlite;
        if (Get(sp, "type") is { } t)
        {
            var value = String(t, $"{prefix}.type", source);
            type = value.ToUpperInvariant() switch
            {
                "SQLITE" => DurableStorageProviderType.Sqlite,
                "MEMORY" or "INMEMORY" => DurableStorageProviderType.Memory,
                "AZURESTORAGE" or "AZURE_STORAGE" => DurableStorageProviderType.AzureStorage,
                _ => throw new HostJsonException($"{prefix}.type", source, $"has unknown provider '{value}'; expected sqlite, memory or AzureStorage."),
            };
        }
        string? OptionalString(string name)
        {
            if (Get(sp, name) is not { } v || v.ValueKind == JsonValueKind.Null) return null;
            var s = String(v, $"{prefix}.{name}", source);
            return s.Trim().Length == 0 ? throw new HostJsonException($"{prefix}.{name}", source, "must not be empty.") : s;
        }
        return new DurableStorageProviderSettings
        {
            Type = type,
            ConnectionStringName = OptionalString("connectionStringName"),
            DatabasePath = OptionalString("databasePath"),
        };
    }

    private static JsonElement? Get(JsonElement obj, string name)
    {
        foreach (var p in obj.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) return p.Value;
        }
        return null;
    }

    private static JsonElement? ObjectOrNull(JsonElement? e, string setting, string source)
    {
        if (e is not { } v || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.Object ? v : throw new HostJsonException(setting, source, $"must be an object; got {Kind(v)}.");
    }

    private static string String(JsonElement e, string setting, string source) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new HostJsonException(setting, source, $"must be a string; got {Kind(e)}.");

    private static string PoolName(JsonElement e, string setting, string source)
    {
        var s = String(e, setting, source);
        return s.Trim().Length == 0 ? throw new HostJsonException(setting, source, "must be a non-empty pool name.") : s;
    }

    private static int? Concurrency(JsonElement? e, string setting, string source)
    {
        if (e is not { } v || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n))
            throw new HostJsonException(setting, source, $"must be a whole number; got {Kind(v)} {v.GetRawText()}.");
        return n >= 1 ? n : throw new HostJsonException(setting, source, $"must be at least 1; got {n}.");
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };
}

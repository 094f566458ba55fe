using System.Text.Json;

namespace Serverless.Hosting.Configuration;

/// <summary>
/// The one reader of host.json's <c>extensions.durableTask</c> (Durable Functions' schema). Names match
/// case-insensitively, comments and trailing commas are allowed, as in the Functions host. Unknown keys and wrong types
/// or values fail at start-up with a <see cref="HostJsonException"/> naming the key and the file; a setting that is
/// silently ignored would be a setting that silently does not work. Other extensions and top-level keys (logging, ...)
/// belong to other readers and are left alone.
/// </summary>
public static class HostJsonReader
{
    private const string Root = "extensions.durableTask";

    /// <summary>The <c>extensions.durableTask</c> keys this host applies.</summary>
    public static readonly IReadOnlyList<string> SupportedKeys =
    [
        "hubName", "storageProvider", "maxConcurrentActivityFunctions", "maxConcurrentOrchestratorFunctions",
        "extendedSessionsEnabled", "extendedSessionIdleTimeoutInSeconds",
    ];

    /// <summary>Durable Functions keys accepted and ignored because they configure Azure-side telemetry and
    /// notifications that a local host does not have (Application Insights tracing, Event Grid).</summary>
    public static readonly IReadOnlyList<string> IgnoredKeys = ["tracing", "notifications"];

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads a host.json file. A missing file gives the defaults (Durable Functions runs without one too).</summary>
    public static DurableTaskHostSettings Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = System.IO.Path.GetFullPath(path);
        var folder = System.IO.Path.GetDirectoryName(full) ?? Directory.GetCurrentDirectory();
        if (!File.Exists(full))
        {
            var defaults = DurableTaskHostSettings.Default(full);
            return new DurableTaskHostSettings { StorageProvider = defaults.StorageProvider, SourcePath = full, BaseDirectory = folder };
        }
        return Parse(File.ReadAllText(full), full, folder);
    }

    /// <summary>
    /// Reads another extension's section, <c>extensions.{name}</c> (e.g. <c>pipelines</c>), with the same parsing rules
    /// (comments, trailing commas, case-insensitive names) and the same section type, so every part of host.json reports
    /// bad settings alike. Null when the file or the section is absent.
    /// </summary>
    public static HostJsonSection? LoadExtension(string path, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) return null;
        return ParseExtension(File.ReadAllText(full), full, name);
    }

    /// <summary>Parses host.json text and returns <c>extensions.{name}</c>, or null when absent.</summary>
    public static HostJsonSection? ParseExtension(string json, string sourceName, string name)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceName);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        using var doc = ParseDocument(json, sourceName);
        var root = new HostJsonSection(doc.RootElement, "(root)", sourceName);
        var extensions = root.Get("extensions") is { } e ? new HostJsonSection(e, "extensions", sourceName) : null;
        return extensions?.Get(name) is { } section ? new HostJsonSection(section, $"extensions.{name}", sourceName) : null;
    }

    /// <summary>Parses host.json text; <paramref name="sourceName"/> names it in errors, <paramref name="baseDirectory"/>
    /// resolves relative paths (default: the current directory).</summary>
    public static DurableTaskHostSettings Parse(string json, string sourceName, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceName);
        using (var doc = ParseDocument(json, sourceName))
        {
            var root = new HostJsonSection(doc.RootElement, "(root)", sourceName);
            var extensions = root.Get("extensions") is { } e ? new HostJsonSection(e, "extensions", sourceName) : null;
            var durable = extensions?.Get("durableTask") is { } d ? new HostJsonSection(d, Root, sourceName) : HostJsonSection.Empty(Root, sourceName);
            return Read(durable, sourceName, baseDirectory ?? Directory.GetCurrentDirectory());
        }
    }

    private static JsonDocument ParseDocument(string json, string sourceName)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new HostJsonException("(file)", sourceName, $"is not valid JSON: {ex.Message}", ex);
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw new HostJsonException("(root)", sourceName, "must be a JSON object.");
        }
        return doc;
    }

    private static DurableTaskHostSettings Read(HostJsonSection d, string source, string baseDirectory)
    {
        d.RejectUnknownKeys([.. SupportedKeys, .. IgnoredKeys]);
        var hub = d.String("hubName");
        // Durable Functions' rule (task hub names become queue, table and container names): 3-45 letters or digits, starting with a letter.
        if (hub is not null && (hub.Length is < 3 or > 45 || !char.IsAsciiLetter(hub[0]) || !hub.All(char.IsAsciiLetterOrDigit)))
            throw d.Error("hubName", $"must be 3 to 45 letters or digits starting with a letter; got '{hub}'.");
        var sp = d.Section("storageProvider") ?? HostJsonSection.Empty($"{Root}.storageProvider", source);
        var storage = new DurableStorageProviderSettings
        {
            Type = sp.String("type") ?? DurableStorageProviderSettings.AzureStorageType,
            ConnectionStringName = sp.String("connectionStringName"),
            Section = sp,
        };
        return new DurableTaskHostSettings
        {
            HubName = hub ?? DurableTaskHostSettings.DefaultHubName,
            StorageProvider = storage,
            MaxConcurrentActivityFunctions = d.Int("maxConcurrentActivityFunctions", 1, 10_000),
            MaxConcurrentOrchestratorFunctions = d.Int("maxConcurrentOrchestratorFunctions", 1, 10_000),
            ExtendedSessionsEnabled = d.Bool("extendedSessionsEnabled"),
            ExtendedSessionIdleTimeoutInSeconds = d.Int("extendedSessionIdleTimeoutInSeconds", 1, 24 * 3600),
            BaseDirectory = baseDirectory,
            SourcePath = source,
        };
    }
}

using System.Reflection;
using System.Text.Json;
using Serverless.Ml.Components;
using Serverless.Pipelines;
using Serverless.Storage;

namespace Serverless.FunctionApp.Pipelines;

/// <summary>
/// The pipeline settings of the function app: host.json <c>extensions.pipelines</c> (relative paths resolve
/// against host.json's folder), else defaults under the home folder. Every default works with no set-up.
/// </summary>
public sealed class PipelineHostOptions
{
    /// <summary>Folder of pipeline files (<c>*.yaml</c>, <c>*.yml</c>, <c>*.json</c>) that HTTP, blob and timer triggers
    /// start by name (the file's <c>name</c>). host.json <c>pipelinesFolder</c>; default <c>{home}/pipelines</c>.</summary>
    public required string PipelinesFolder { get; set; }

    /// <summary>Root of the local-directory blob store (artifacts, incoming data, trigger receipts).
    /// host.json <c>blobRoot</c>; default <c>{home}/blobs</c>.</summary>
    public required string BlobRoot { get; set; }

    /// <summary>Where artifacts, incoming data and trigger receipts live. host.json <c>artifactStore</c>
    /// <c>{ "type": "local" | "azureBlob", "connectionStringName", "container" }</c>; default a local directory at <see cref="BlobRoot"/>.</summary>
    public ArtifactStoreOptions ArtifactStore { get; set; } = new();

    /// <summary>The SQLite metadata (lineage) database. host.json <c>metadataPath</c>; default <c>{home}/metadata.db</c>.</summary>
    public required string MetadataPath { get; set; }

    /// <summary>Where runs started by a blob keep their local copy of the blob. Default <c>{home}/triggered</c>.</summary>
    public required string DownloadFolder { get; set; }

    /// <summary>Blob trigger: host.json <c>blobTrigger</c> <c>{ "enabled", "prefix", "pollInterval" }</c>. Default enabled,
    /// prefix <c>incoming/</c> (a blob <c>incoming/{pipeline}/{file}</c> starts <c>{pipeline}</c>), polled every 2 s.</summary>
    public BlobTriggerOptions BlobTrigger { get; set; } = new();

    /// <summary>Timer triggers: host.json <c>timers</c>, a list of <c>{ "name", "pipeline", "schedule", "parameters", "useLatestData" }</c>. Default none.</summary>
    public IList<TimerTriggerOptions> Timers { get; } = [];

    /// <summary>How often timers check for due occurrences. host.json <c>timerPollInterval</c>; default 1 s.</summary>
    public TimeSpan TimerPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Assemblies with extra components (public <see cref="Component"/> subclasses with a parameterless
    /// constructor). host.json <c>componentAssemblies</c> and the <c>SERVERLESS_COMPONENTS</c> app setting (':'-separated).</summary>
    public IList<string> ComponentAssemblies { get; } = [];

    /// <summary>Folders that pipeline data, transform modules, schemas and user code may be read from (besides
    /// <see cref="PipelinesFolder"/> and <see cref="DownloadFolder"/>, always allowed). host.json <c>roots.inputs</c>
    /// (a list); default <c>{home}/data</c>. The CLI's <c>run</c> adds the folder of the pipeline file it was given.</summary>
    public IList<string> InputRoots { get; } = [];

    /// <summary>The model repository the Pusher writes (its default destination and the only allowed one).
    /// host.json <c>roots.servingRepository</c>; default <c>{home}/serving_models</c>.</summary>
    public required string ServingRepository { get; set; }

    /// <summary>Where nodes keep temporary state (checkpoints, unpacked inputs), created with mode 0700.
    /// host.json <c>roots.scratch</c>; default <c>{home}/scratch</c>.</summary>
    public required string ScratchFolder { get; set; }

    /// <summary>Bounds on pipeline files, run parameters and node restarts. host.json <c>limits</c>
    /// <c>{ "maxPipelineFileBytes", "maxNodes", "maxParameterLength", "maxRequestBytes", "maxNestingDepth", "maxYamlAliases", "maxRetryAttempts", "maxNodeStarts" }</c>;
    /// default <see cref="PipelineLimits.Default"/>.</summary>
    public PipelineLimits Limits { get; set; } = PipelineLimits.Default;

    /// <summary>The allowed roots every parameter location is checked against (see <see cref="PipelineRoots"/>).</summary>
    public PipelineRoots Roots => new()
    {
        Inputs = [.. InputRoots.Select(r => Path.GetFullPath(r)), Path.GetFullPath(PipelinesFolder), Path.GetFullPath(DownloadFolder)],
        ArtifactStore = ArtifactStore.Type == ArtifactStoreOptions.Local ? Path.GetFullPath(BlobRoot) : null,
        ServingRepository = Path.GetFullPath(ServingRepository),
        Scratch = Path.GetFullPath(ScratchFolder),
    };

    /// <summary>Defaults under <paramref name="home"/>.</summary>
    public static PipelineHostOptions Defaults(string home)
    {
        ArgumentException.ThrowIfNullOrEmpty(home);
        var options = new PipelineHostOptions
        {
            PipelinesFolder = Path.Combine(home, "pipelines"),
            BlobRoot = Path.Combine(home, "blobs"),
            MetadataPath = Path.Combine(home, "metadata.db"),
            DownloadFolder = Path.Combine(home, "triggered"),
            ServingRepository = Path.Combine(home, "serving_models"),
            ScratchFolder = Path.Combine(home, "scratch"),
        };
        options.InputRoots.Add(Path.Combine(home, "data"));
        if (Environment.GetEnvironmentVariable("SERVERLESS_COMPONENTS") is { Length: > 0 } extra)
        {
            foreach (var path in extra.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                options.ComponentAssemblies.Add(path);
            }
        }

        return options;
    }

    /// <summary>Reads <c>extensions.pipelines</c> of <paramref name="hostJsonPath"/> over the defaults under <paramref name="home"/>.</summary>
    /// <exception cref="InvalidDataException">A setting has the wrong type or an invalid value; the message names the file and setting.</exception>
    public static PipelineHostOptions Load(string? hostJsonPath, string home)
    {
        var options = Defaults(home);
        if (hostJsonPath is null || !File.Exists(hostJsonPath))
        {
            return options;
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(hostJsonPath))!;
        using var doc = JsonDocument.Parse(File.ReadAllText(hostJsonPath), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (!doc.RootElement.TryGetProperty("extensions", out var ext) || ext.ValueKind != JsonValueKind.Object || !ext.TryGetProperty("pipelines", out var p))
        {
            return options;
        }

        InvalidDataException Bad(string setting, string why) => new($"{hostJsonPath}: extensions.pipelines.{setting} {why}");
        string? Str(JsonElement e, string name, string path) =>
            e.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw Bad(path, "must be a string") : null;
        TimeSpan? Span(JsonElement e, string name, string path) =>
            Str(e, name, path) is { } s ? Durations.TryParse(s, out var t) && t > TimeSpan.Zero ? t : throw Bad(path, $"'{s}' is not a positive duration (e.g. 2s, 500ms, 00:00:02)") : null;

        if (Str(p, "pipelinesFolder", "pipelinesFolder") is { } pf) options.PipelinesFolder = Path.GetFullPath(pf, folder);
        if (Str(p, "blobRoot", "blobRoot") is { } br) options.BlobRoot = Path.GetFullPath(br, folder);
        if (Str(p, "metadataPath", "metadataPath") is { } mp) options.MetadataPath = Path.GetFullPath(mp, folder);
        if (Span(p, "timerPollInterval", "timerPollInterval") is { } tp) options.TimerPollInterval = tp;
        if (p.TryGetProperty("componentAssemblies", out var ca))
        {
            foreach (var a in ca.EnumerateArray()) options.ComponentAssemblies.Add(Path.GetFullPath(a.GetString() ?? throw Bad("componentAssemblies", "must list strings"), folder));
        }

        if (p.TryGetProperty("limits", out var limits))
        {
            if (limits.ValueKind != JsonValueKind.Object) throw Bad("limits", "must be an object, e.g. { \"maxNodes\": 2000 }");
            long Number(JsonProperty setting) =>
                setting.Value.ValueKind == JsonValueKind.Number && setting.Value.TryGetInt64(out var n) && n > 0 ? n : throw Bad($"limits.{setting.Name}", "must be a positive whole number");
            int Int(JsonProperty setting) => (int)Math.Min(Number(setting), int.MaxValue);
            var l = PipelineLimits.Default;
            foreach (var setting in limits.EnumerateObject())
            {
                l = setting.Name switch
                {
                    "maxPipelineFileBytes" => l with { MaxPipelineFileBytes = Number(setting) },
                    "maxNodes" => l with { MaxNodes = Int(setting) },
                    "maxParameterLength" => l with { MaxParameterLength = Int(setting) },
                    "maxRequestBytes" => l with { MaxRequestBytes = Number(setting) },
                    "maxNestingDepth" => l with { MaxNestingDepth = Int(setting) },
                    "maxYamlAliases" => l with { MaxYamlAliases = Int(setting) },
                    "maxRetryAttempts" => l with { MaxRetryAttempts = Int(setting) },
                    "maxNodeStarts" => l with { MaxNodeStarts = Int(setting) },
                    _ => throw Bad($"limits.{setting.Name}", "is not a limit (maxPipelineFileBytes, maxNodes, maxParameterLength, maxRequestBytes, maxNestingDepth, maxYamlAliases, maxRetryAttempts, maxNodeStarts)"),
                };
            }

            try
            {
                l.EnsureValid();
            }
            catch (ArgumentOutOfRangeException e)
            {
                throw Bad("limits", e.Message);
            }

            options.Limits = l;
        }

        if (p.TryGetProperty("roots", out var roots))
        {
            if (roots.ValueKind != JsonValueKind.Object) throw Bad("roots", "must be an object { \"inputs\": [...], \"servingRepository\", \"scratch\" }");
            foreach (var key in roots.EnumerateObject().Select(r => r.Name).Where(n => n is not ("inputs" or "servingRepository" or "scratch")))
            {
                throw Bad($"roots.{key}", "is not a setting (expected inputs, servingRepository, scratch)");
            }

            if (roots.TryGetProperty("inputs", out var inputs))
            {
                if (inputs.ValueKind != JsonValueKind.Array) throw Bad("roots.inputs", "must be a list of folders");
                options.InputRoots.Clear();
                foreach (var r in inputs.EnumerateArray())
                {
                    options.InputRoots.Add(Path.GetFullPath(r.ValueKind == JsonValueKind.String && r.GetString() is { Length: > 0 } root ? root : throw Bad("roots.inputs", "must list folder names"), folder));
                }
            }

            if (Str(roots, "servingRepository", "roots.servingRepository") is { } sr) options.ServingRepository = Path.GetFullPath(sr, folder);
            if (Str(roots, "scratch", "roots.scratch") is { } sc) options.ScratchFolder = Path.GetFullPath(sc, folder);
        }

        if (p.TryGetProperty("artifactStore", out var store))
        {
            if (store.ValueKind != JsonValueKind.Object) throw Bad("artifactStore", "must be an object { \"type\": \"local\" | \"azureBlob\", ... }");
            var kind = Str(store, "type", "artifactStore.type") ?? ArtifactStoreOptions.Local;
            options.ArtifactStore.Type = kind.ToLowerInvariant() switch
            {
                "local" => ArtifactStoreOptions.Local,
                "azureblob" => ArtifactStoreOptions.AzureBlob,
                _ => throw Bad("artifactStore.type", $"'{kind}' is not a store type (expected \"local\" or \"azureBlob\")"),
            };
            if (Str(store, "connectionStringName", "artifactStore.connectionStringName") is { } csn) options.ArtifactStore.ConnectionStringName = csn;
            if (Str(store, "container", "artifactStore.container") is { } container) options.ArtifactStore.Container = container;
        }

        if (p.TryGetProperty("blobTrigger", out var bt))
        {
            if (bt.TryGetProperty("enabled", out var en)) options.BlobTrigger.Enabled = en.ValueKind == JsonValueKind.True || (en.ValueKind == JsonValueKind.False ? false : throw Bad("blobTrigger.enabled", "must be true or false"));
            if (Str(bt, "prefix", "blobTrigger.prefix") is { } prefix) options.BlobTrigger.Prefix = prefix.EndsWith('/') ? prefix : prefix + "/";
            if (Span(bt, "pollInterval", "blobTrigger.pollInterval") is { } pi) options.BlobTrigger.PollInterval = pi;
            if (Str(bt, "settleInterval", "blobTrigger.settleInterval") is { } si)
            {
                options.BlobTrigger.SettleInterval = Durations.TryParse(si, out var settle) && settle >= TimeSpan.Zero ? settle : throw Bad("blobTrigger.settleInterval", $"'{si}' is not a duration (e.g. 2s, 0s)");
            }
        }

        if (p.TryGetProperty("timers", out var timers))
        {
            var i = 0;
            foreach (var t in timers.EnumerateArray())
            {
                var at = $"timers[{i++}]";
                var timer = new TimerTriggerOptions
                {
                    Pipeline = Str(t, "pipeline", at + ".pipeline") ?? throw Bad(at + ".pipeline", "is required"),
                    Schedule = Str(t, "schedule", at + ".schedule") ?? throw Bad(at + ".schedule", "is required (six-field NCRONTAB, e.g. \"0 0 3 * * *\")"),
                };
                timer.Name = Str(t, "name", at + ".name") ?? timer.Pipeline;
                if (!Triggers.NcrontabSchedule.TryParse(timer.Schedule, out _))
                {
                    try { Triggers.NcrontabSchedule.Parse(timer.Schedule); } catch (FormatException e) { throw Bad(at + ".schedule", e.Message); }
                }

                if (t.TryGetProperty("useLatestData", out var latest)) timer.UseLatestData = latest.ValueKind != JsonValueKind.False;
                if (t.TryGetProperty("parameters", out var ps))
                {
                    foreach (var kv in ps.EnumerateObject()) timer.Parameters[kv.Name] = kv.Value.ValueKind == JsonValueKind.String ? kv.Value.GetString()! : kv.Value.GetRawText();
                }

                options.Timers.Add(timer);
            }
        }

        return options;
    }

    /// <summary>The built-in components plus those of <see cref="ComponentAssemblies"/>. The hosts (function app, CLI) add the ML
    /// components with <see cref="MlComponents.Register"/> once the metadata store is open (see <see cref="PipelineRuntime"/>).</summary>
    public ComponentRegistry CreateComponentRegistry()
    {
        var registry = ComponentRegistry.CreateWithBuiltIns();
        foreach (var path in ComponentAssemblies)
        {
            var assembly = Assembly.LoadFrom(Path.GetFullPath(path));
            foreach (var type in assembly.GetExportedTypes().Where(t => t.IsSubclassOf(typeof(Component)) && !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) is not null))
            {
                registry.Register((Component)Activator.CreateInstance(type)!);
            }
        }

        return registry;
    }

    /// <summary>Creates the artifact store <see cref="ArtifactStore"/> names.</summary>
    /// <param name="getSetting">Reads an app setting (environment variable) by name.</param>
    /// <exception cref="InvalidOperationException">Azure Blob is selected but its connection setting is missing or empty.</exception>
    public IBlobStore CreateBlobStore(Func<string, string?> getSetting)
    {
        ArgumentNullException.ThrowIfNull(getSetting);
        if (ArtifactStore.Type != ArtifactStoreOptions.AzureBlob)
        {
            Directory.CreateDirectory(BlobRoot);
            return new LocalDirectoryBlobStore(BlobRoot);
        }

        var connection = getSetting(ArtifactStore.ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connection))
        {
            throw new InvalidOperationException(
                $"extensions.pipelines.artifactStore is azureBlob but the app setting '{ArtifactStore.ConnectionStringName}' (its connectionStringName) is not set; " +
                "set it to a storage connection string, e.g. UseDevelopmentStorage=true for Azurite.");
        }

        return new AzureBlobStore(connection, ArtifactStore.Container);
    }
}

/// <summary>The artifact store: a local directory (the embedded default) or an Azure Blob Storage container.</summary>
public sealed class ArtifactStoreOptions
{
    /// <summary>The local-directory store at <see cref="PipelineHostOptions.BlobRoot"/>.</summary>
    public const string Local = "local";

    /// <summary>Azure Blob Storage (Azurite locally).</summary>
    public const string AzureBlob = "azureBlob";

    /// <summary><see cref="Local"/> (default) or <see cref="AzureBlob"/>.</summary>
    public string Type { get; set; } = Local;

    /// <summary>The app setting (environment variable) holding the storage connection string. Default <c>AzureWebJobsStorage</c>, as Functions uses.</summary>
    public string ConnectionStringName { get; set; } = "AzureWebJobsStorage";

    /// <summary>The blob container, created on first use. Default <c>artifacts</c>.</summary>
    public string Container { get; set; } = "artifacts";
}

/// <summary>Blob trigger settings.</summary>
public sealed class BlobTriggerOptions
{
    /// <summary>Whether new blobs start runs. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The watched prefix; a blob <c>{prefix}{pipeline}/{file}</c> starts <c>{pipeline}</c>. Default <c>incoming/</c>.</summary>
    public string Prefix { get; set; } = "incoming/";

    /// <summary>How often the store is scanned (the Functions blob trigger also polls). Default 2 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a blob version must stay unchanged (same ETag: size and modification time in a local folder) before it starts
    /// a run, so a file still being written starts one run, on its final content. host.json <c>blobTrigger.settleInterval</c>;
    /// default null: 2 s for the local-directory store, 0 for Azure Blob (a blob is visible only once committed).
    /// </summary>
    public TimeSpan? SettleInterval { get; set; }
}

/// <summary>One timer trigger.</summary>
public sealed class TimerTriggerOptions
{
    /// <summary>The schedule's name (its status blob is <c>_schedules/{name}.json</c>). Default: the pipeline name.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The pipeline to start.</summary>
    public required string Pipeline { get; set; }

    /// <summary>Six-field NCRONTAB, UTC, e.g. <c>0 0 3 * * *</c>.</summary>
    public required string Schedule { get; set; }

    /// <summary>Run parameters (see <c>RunParameters</c>).</summary>
    public IDictionary<string, string> Parameters { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>When true (default), the run reads the newest blob under the blob trigger's <c>{prefix}{pipeline}/</c>, if any, so a
    /// scheduled retrain uses the latest data; otherwise the pipeline file's own data.</summary>
    public bool UseLatestData { get; set; } = true;
}

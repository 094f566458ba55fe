using System.Reflection;
using System.Text.Json;
using Serverless.Hosting.Configuration;
using Serverless.Ml.Components;
using Serverless.Pipelines;
using Serverless.Storage;

namespace Serverless.Pipelines.Hosting;

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

    /// <summary>The GPU job queue: host.json <c>trainerJobs</c> <c>{ "queueName", "connectionStringName", "pool", "timeout",
    /// "callbackBaseUrl", "visibilityTimeout", "maxDequeueCount", "pollInterval", "checkpointPrefix" }</c>. Default null: no
    /// queue, nodes of the <c>gpu</c> pool run as ordinary activities.</summary>
    public GpuJobs.TrainerJobOptions? TrainerJobs { get; set; }

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

    /// <summary>The <c>extensions.pipelines</c> keys this host applies.</summary>
    public static readonly IReadOnlyList<string> SupportedKeys =
    [
        "pipelinesFolder", "blobRoot", "metadataPath", "timerPollInterval", "componentAssemblies", "limits", "roots",
        "artifactStore", "blobTrigger", "timers", "trainerJobs",
    ];

    /// <summary>
    /// Reads <c>extensions.pipelines</c> of <paramref name="hostJsonPath"/> over the defaults under <paramref name="home"/>,
    /// through the same reader and section type as <c>extensions.durableTask</c> (Serverless.Hosting's
    /// <see cref="HostJsonReader"/>, <see cref="HostJsonSection"/>): names match case-insensitively, comments and trailing
    /// commas are allowed, relative paths resolve against host.json's folder, and an unknown key or a wrong type or value
    /// fails with a <see cref="HostJsonException"/> naming the file and the setting.
    /// </summary>
    public static PipelineHostOptions Load(string? hostJsonPath, string home)
    {
        var options = Defaults(home);
        if (hostJsonPath is null || HostJsonReader.LoadExtension(hostJsonPath, "pipelines") is not { } p)
        {
            return options;
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(hostJsonPath))!;
        p.RejectUnknownKeys(SupportedKeys);
        TimeSpan? Span(HostJsonSection section, string name, bool allowZero = false) =>
            section.String(name) is { } text
                ? Durations.TryParse(text, out var t) && (t > TimeSpan.Zero || (allowZero && t == TimeSpan.Zero))
                    ? t
                    : throw section.Error(name, $"'{text}' is not a {(allowZero ? string.Empty : "positive ")}duration (e.g. 2s, 500ms, 00:00:02)")
                : null;
        IEnumerable<JsonElement> List(HostJsonSection section, string name, string what) =>
            section.Get(name) is not { } list ? []
            : list.ValueKind == JsonValueKind.Array ? list.EnumerateArray().ToList()
            : throw section.Error(name, $"must be a list of {what}; got {list.ValueKind.ToString().ToLowerInvariant()}");
        string Folder(HostJsonSection section, string name, JsonElement e) =>
            e.ValueKind == JsonValueKind.String && e.GetString() is { Length: > 0 } text
                ? Path.GetFullPath(text, folder)
                : throw section.Error(name, "must list non-empty folder or file names");

        if (p.String("pipelinesFolder") is { } pf) options.PipelinesFolder = Path.GetFullPath(pf, folder);
        if (p.String("blobRoot") is { } br) options.BlobRoot = Path.GetFullPath(br, folder);
        if (p.String("metadataPath") is { } mp) options.MetadataPath = Path.GetFullPath(mp, folder);
        if (Span(p, "timerPollInterval") is { } tp) options.TimerPollInterval = tp;
        foreach (var a in List(p, "componentAssemblies", "assembly files"))
        {
            options.ComponentAssemblies.Add(Folder(p, "componentAssemblies", a));
        }

        if (p.Section("limits") is { } limits)
        {
            string[] known = ["maxPipelineFileBytes", "maxNodes", "maxParameterLength", "maxRequestBytes", "maxNestingDepth", "maxYamlAliases", "maxRetryAttempts", "maxNodeStarts"];
            limits.RejectUnknownKeys(known);
            int? Int(string name) => limits.Int(name, 1);
            long? Long(string name) => limits.Get(name) is { } v
                ? v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) && n > 0 ? n : throw limits.Error(name, $"must be a positive whole number; got {v.GetRawText()}")
                : null;
            var l = PipelineLimits.Default;
            l = l with
            {
                MaxPipelineFileBytes = Long("maxPipelineFileBytes") ?? l.MaxPipelineFileBytes,
                MaxNodes = Int("maxNodes") ?? l.MaxNodes,
                MaxParameterLength = Int("maxParameterLength") ?? l.MaxParameterLength,
                MaxRequestBytes = Long("maxRequestBytes") ?? l.MaxRequestBytes,
                MaxNestingDepth = Int("maxNestingDepth") ?? l.MaxNestingDepth,
                MaxYamlAliases = Int("maxYamlAliases") ?? l.MaxYamlAliases,
                MaxRetryAttempts = Int("maxRetryAttempts") ?? l.MaxRetryAttempts,
                MaxNodeStarts = Int("maxNodeStarts") ?? l.MaxNodeStarts,
            };
            try
            {
                l.EnsureValid();
            }
            catch (ArgumentOutOfRangeException e)
            {
                throw new HostJsonException(limits.Path, limits.Source, e.Message, e);
            }

            options.Limits = l;
        }

        if (p.Section("roots") is { } roots)
        {
            roots.RejectUnknownKeys(["inputs", "servingRepository", "scratch"]);
            if (roots.Get("inputs") is not null)
            {
                options.InputRoots.Clear();
                foreach (var r in List(roots, "inputs", "folders"))
                {
                    options.InputRoots.Add(Folder(roots, "inputs", r));
                }
            }

            if (roots.String("servingRepository") is { } sr) options.ServingRepository = Path.GetFullPath(sr, folder);
            if (roots.String("scratch") is { } sc) options.ScratchFolder = Path.GetFullPath(sc, folder);
        }

        if (p.Section("artifactStore") is { } store)
        {
            store.RejectUnknownKeys(["type", "connectionStringName", "container"]);
            var kind = store.String("type") ?? ArtifactStoreOptions.Local;
            options.ArtifactStore.Type = kind.ToLowerInvariant() switch
            {
                "local" => ArtifactStoreOptions.Local,
                "azureblob" => ArtifactStoreOptions.AzureBlob,
                _ => throw store.Error("type", $"'{kind}' is not a store type (expected \"local\" or \"azureBlob\")"),
            };
            if (store.String("connectionStringName") is { } csn) options.ArtifactStore.ConnectionStringName = csn;
            if (store.String("container") is { } container) options.ArtifactStore.Container = container;
        }

        if (p.Section("blobTrigger") is { } bt)
        {
            bt.RejectUnknownKeys(["enabled", "prefix", "pollInterval", "settleInterval"]);
            if (bt.Bool("enabled") is { } enabled) options.BlobTrigger.Enabled = enabled;
            if (bt.String("prefix") is { } prefix) options.BlobTrigger.Prefix = prefix.EndsWith('/') ? prefix : prefix + "/";
            if (Span(bt, "pollInterval") is { } pi) options.BlobTrigger.PollInterval = pi;
            if (Span(bt, "settleInterval", allowZero: true) is { } settle) options.BlobTrigger.SettleInterval = settle;
        }

        if (p.Section("trainerJobs") is { } jobs)
        {
            options.TrainerJobs = GpuJobs.TrainerJobOptions.Load(jobs);
        }

        var i = 0;
        foreach (var element in List(p, "timers", "timer objects"))
        {
            var t = new HostJsonSection(element, $"{p.Path}.timers[{i++}]", p.Source);
            t.RejectUnknownKeys(["name", "pipeline", "schedule", "parameters", "useLatestData"]);
            var timer = new TimerTriggerOptions
            {
                Pipeline = t.String("pipeline") ?? throw t.Error("pipeline", "is required"),
                Schedule = t.String("schedule") ?? throw t.Error("schedule", "is required (six-field NCRONTAB, e.g. \"0 0 3 * * *\")"),
            };
            timer.Name = t.String("name") ?? timer.Pipeline;
            try
            {
                _ = Triggers.NcrontabSchedule.Parse(timer.Schedule);
            }
            catch (FormatException e)
            {
                throw t.Error("schedule", e.Message);
            }

            if (t.Bool("useLatestData") is { } latest) timer.UseLatestData = latest;
            if (t.Section("parameters") is { } ps)
            {
                foreach (var key in ps.Keys)
                {
                    var value = ps.Get(key);
                    timer.Parameters[key] = value is { ValueKind: JsonValueKind.String } v ? v.GetString()! : value?.GetRawText() ?? "null";
                }
            }

            options.Timers.Add(timer);
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
    /// <exception cref="InvalidOperationException">Azure Blob is selected but its connection (a connection string, or the
    /// identity-based <c>__blobServiceUri</c> / <c>__accountName</c> settings) is missing or invalid.</exception>
    public IBlobStore CreateBlobStore(Func<string, string?> getSetting)
    {
        ArgumentNullException.ThrowIfNull(getSetting);
        if (ArtifactStore.Type != ArtifactStoreOptions.AzureBlob)
        {
            Directory.CreateDirectory(BlobRoot);
            return new LocalDirectoryBlobStore(BlobRoot);
        }

        try
        {
            // A connection string, or keyless (NAME__blobServiceUri / __accountName + a managed identity), as Functions reads it.
            return AzureBlobStore.FromConnectionSetting(ArtifactStore.ConnectionStringName, getSetting, ArtifactStore.Container);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"extensions.pipelines.artifactStore is azureBlob (its connectionStringName is '{ArtifactStore.ConnectionStringName}'): {e.Message}", e);
        }
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

    /// <summary>The app setting (environment variable) holding the storage connection string, or the prefix of the
    /// identity-based settings (<c>{name}__blobServiceUri</c>, <c>{name}__accountName</c>, <c>{name}__credential</c>,
    /// <c>{name}__clientId</c>). Default <c>AzureWebJobsStorage</c>, as Functions uses.</summary>
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

using System.Text.Json;
using Serverless.Metadata;
using Serverless.Pipelines;
using Serverless.Serving;
using Serverless.Storage;

namespace Serverless.Dashboard;

/// <summary>
/// The answers behind the dashboard's JSON routes, read from the metadata store, the artifact store and the serving
/// repository. Read-only: nothing here writes.
/// </summary>
internal sealed class DashboardData(DashboardOptions options)
{
    /// <summary>camelCase, enums as names: what the page's script reads.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    // A lineage graph stops growing here: a long-lived pipeline's downstream can reach thousands of runs.
    private const int MaxLineageNodes = 400;

    private readonly IMetadataStore metadata = options.Metadata;
    private readonly ArtifactPublisher manifests = new(options.Artifacts);

    /// <summary>The executions of a run, one per node (the newest when a run id was started again), with their artifacts.</summary>
    public async Task<IReadOnlyList<NodeExecution>> RunNodesAsync(string runId, CancellationToken cancellation)
    {
        var executions = await metadata.GetExecutionsOfRunAsync(runId, cancellation).ConfigureAwait(false);
        var latest = executions
            .GroupBy(e => Text(e.CustomProperties, NodeRunner.Properties.NodeId) ?? e.Name ?? e.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Select(g => g.MaxBy(e => e.Id)!)
            .OrderBy(e => e.Id)
            .ToList();
        var list = new List<NodeExecution>(latest.Count);
        foreach (var execution in latest)
        {
            var io = await metadata.GetExecutionIoAsync(execution.Id, cancellation).ConfigureAwait(false);
            list.Add(new NodeExecution(
                Describe(execution),
                io.Inputs.Select(c => new ChannelArtifactView(c.Channel, Describe(c.Artifact))).ToList(),
                io.Outputs.Select(c => new ChannelArtifactView(c.Channel, Describe(c.Artifact))).ToList()));
        }

        return list;
    }

    /// <summary>An artifact with its producer, consumers, files and lineage graph; null when unknown.</summary>
    public async Task<ArtifactDetail?> ArtifactAsync(long id, CancellationToken cancellation)
    {
        var artifact = await metadata.GetArtifactAsync(id, cancellation).ConfigureAwait(false);
        if (artifact is null)
        {
            return null;
        }

        var events = await metadata.GetEventsByArtifactIdsAsync([id], cancellation).ConfigureAwait(false);
        var related = (await metadata.GetExecutionsByIdAsync(events.Select(e => e.ExecutionId).Distinct().ToList(), cancellation).ConfigureAwait(false))
            .ToDictionary(e => e.Id);
        var producers = events.Where(e => IsOutput(e.Type) && related.ContainsKey(e.ExecutionId)).Select(e => Describe(related[e.ExecutionId])).ToList();
        var consumers = events.Where(e => IsInput(e.Type) && related.ContainsKey(e.ExecutionId)).Select(e => Describe(related[e.ExecutionId])).DistinctBy(e => e.Id).ToList();

        IReadOnlyList<ArtifactFileView> files = [];
        if (artifact.Type != ArtifactTypes.ExternalFile && artifact.Uri.Length > 0 && IsBlobPrefix(artifact.Uri))
        {
            var manifest = await manifests.ReadManifestAsync(artifact.Uri, cancellation).ConfigureAwait(false);
            files = manifest?.Files.Select(f => new ArtifactFileView(f.Path, f.Length, f.Length <= options.MaxFileBytes)).ToList() ?? [];
        }

        return new ArtifactDetail(Describe(artifact), producers, consumers, files, await LineageAsync(artifact, cancellation).ConfigureAwait(false));
    }

    /// <summary>Opens a file of an artifact, only one its completion marker lists.</summary>
    public async Task<FileResult> OpenFileAsync(long id, string path, CancellationToken cancellation)
    {
        var artifact = await metadata.GetArtifactAsync(id, cancellation).ConfigureAwait(false);
        if (artifact is null || artifact.Type == ArtifactTypes.ExternalFile || !IsBlobPrefix(artifact.Uri))
        {
            return new FileResult(null, null, $"no artifact {id} with files", 404);
        }

        var manifest = await manifests.ReadManifestAsync(artifact.Uri, cancellation).ConfigureAwait(false);
        var file = manifest?.Files.FirstOrDefault(f => f.Path == path);
        if (file is null)
        {
            return new FileResult(null, null, $"artifact {id} has no file '{path}'", 404);
        }

        if (file.Length > options.MaxFileBytes)
        {
            return new FileResult(null, null, $"'{path}' is {file.Length} bytes, more than the dashboard serves ({options.MaxFileBytes})", 413);
        }

        var stream = await options.Artifacts.OpenReadAsync($"{artifact.Uri}/{path}", cancellation).ConfigureAwait(false);
        return new FileResult(stream, ContentType(path), null, 200);
    }

    /// <summary>
    /// The models: every version in the serving repository (ready or half-pushed, which one the default "latest" policy serves)
    /// joined with the PushedModel artifacts that recorded the pushes (run, blessing, evaluation).
    /// </summary>
    public async Task<IReadOnlyList<ModelView>> ModelsAsync(CancellationToken cancellation)
    {
        var pushes = new Dictionary<(string Model, long Version), PushView>();
        foreach (var pushed in await metadata.GetArtifactsByTypeAsync(ArtifactTypes.PushedModel, cancellation).ConfigureAwait(false))
        {
            if (Number(Props(pushed), "pushed") != 1 || Text(Props(pushed), "model_name") is not { } name || Number(Props(pushed), "pushed_version") is not { } version)
            {
                continue;
            }

            var destination = Text(Props(pushed), "pushed_destination");
            if (options.ServingRepository is { } root && destination is not null && !Path.GetFullPath(destination).StartsWith(Path.GetFullPath(root), StringComparison.Ordinal))
            {
                continue; // pushed to another repository
            }

            pushes[(name, version)] = await PushAsync(pushed, cancellation).ConfigureAwait(false);
        }

        var models = new SortedDictionary<string, List<ModelVersionView>>(StringComparer.Ordinal);
        if (options.ServingRepository is { } folder && Directory.Exists(folder))
        {
            var repository = new ModelRepository(new LocalDirectoryBlobStore(folder));
            foreach (var name in await repository.ListModelsAsync(cancellation).ConfigureAwait(false))
            {
                var versions = await repository.ListVersionsAsync(name, cancellation).ConfigureAwait(false);
                var serving = versions.LastOrDefault(v => v.Ready)?.Version;
                models[name] = versions.Select(v => new ModelVersionView(v.Version, v.Ready, v.Version == serving, pushes.GetValueOrDefault((name, v.Version)))).ToList();
            }
        }

        // Pushes whose version folder is gone (kept versions rotated out) still show where they went.
        foreach (var ((name, version), push) in pushes)
        {
            var list = models.TryGetValue(name, out var known) ? known : models[name] = [];
            if (list.All(v => v.Version != version))
            {
                list.Add(new ModelVersionView(version, false, false, push));
            }
        }

        return models.Select(m => new ModelView(m.Key, m.Value.OrderByDescending(v => v.Version).ToList())).ToList();
    }

    // A push's run and blessing: the Pusher execution that output it, and the blessing artifact it read.
    private async Task<PushView> PushAsync(Artifact pushed, CancellationToken cancellation)
    {
        var events = await metadata.GetEventsByArtifactIdsAsync([pushed.Id], cancellation).ConfigureAwait(false);
        var producer = events.Where(e => IsOutput(e.Type)).Select(e => e.ExecutionId).DefaultIfEmpty().Max();
        if (producer == 0)
        {
            return new PushView(pushed.Id, pushed.CreateTime, null, null, null, null, null);
        }

        var io = await metadata.GetExecutionIoAsync(producer, cancellation).ConfigureAwait(false);
        var blessing = io.Inputs.FirstOrDefault(i => i.Artifact.Type == ArtifactTypes.ModelBlessing)?.Artifact;
        var model = io.Inputs.FirstOrDefault(i => i.Artifact.Type == ArtifactTypes.Model)?.Artifact;
        long? evaluation = null;
        if (blessing is not null)
        {
            // The evaluation is the blessing's sibling output of the same Evaluator execution.
            var blessingEvents = await metadata.GetEventsByArtifactIdsAsync([blessing.Id], cancellation).ConfigureAwait(false);
            var evaluator = blessingEvents.Where(e => IsOutput(e.Type)).Select(e => e.ExecutionId).DefaultIfEmpty().Min();
            if (evaluator != 0)
            {
                var evaluatorIo = await metadata.GetExecutionIoAsync(evaluator, cancellation).ConfigureAwait(false);
                evaluation = evaluatorIo.Outputs.FirstOrDefault(o => o.Artifact.Type == ArtifactTypes.ModelEvaluation)?.Artifact.Id;
            }
        }

        var blessed = blessing is null ? (bool?)null : Number(Props(blessing), "blessed") == 1;
        return new PushView(pushed.Id, pushed.CreateTime, Text(io.Execution.CustomProperties, NodeRunner.Properties.RunId), blessing?.Id, blessed, evaluation, model?.Id);
    }

    // Upstream to the source files and downstream to pushed models, one graph: artifacts and executions as nodes, events as edges.
    private async Task<LineageGraph> LineageAsync(Artifact root, CancellationToken cancellation)
    {
        var upstream = await metadata.GetUpstreamLineageAsync(root.Id, cancellation: cancellation).ConfigureAwait(false);
        var artifacts = upstream.Artifacts.ToDictionary(a => a.Id);
        var executions = upstream.Executions.ToDictionary(e => e.Id);
        var events = new HashSet<(long Artifact, long Execution, bool Output)>(upstream.Events.Select(e => (e.ArtifactId, e.ExecutionId, IsOutput(e.Type))));

        // Downstream: breadth first, artifact -> executions that read it -> what they wrote.
        var frontier = new List<long> { root.Id };
        var seenArtifacts = new HashSet<long> { root.Id };
        var seenExecutions = new HashSet<long>();
        var truncated = false;
        while (frontier.Count > 0)
        {
            var reads = (await metadata.GetEventsByArtifactIdsAsync(frontier, cancellation).ConfigureAwait(false)).Where(e => IsInput(e.Type)).ToList();
            var readers = reads.Select(e => e.ExecutionId).Where(seenExecutions.Add).Distinct().ToList();
            if (readers.Count == 0 || artifacts.Count + executions.Count + readers.Count > MaxLineageNodes)
            {
                truncated = readers.Count > 0;
                break;
            }

            events.UnionWith(reads.Select(e => (e.ArtifactId, e.ExecutionId, false)));
            foreach (var e in await metadata.GetExecutionsByIdAsync(readers, cancellation).ConfigureAwait(false))
            {
                executions[e.Id] = e;
            }

            var writes = (await metadata.GetEventsByExecutionIdsAsync(readers, cancellation).ConfigureAwait(false)).Where(e => IsOutput(e.Type)).ToList();
            events.UnionWith(writes.Select(e => (e.ArtifactId, e.ExecutionId, true)));
            frontier = writes.Select(e => e.ArtifactId).Where(seenArtifacts.Add).Distinct().ToList();
            foreach (var a in await metadata.GetArtifactsByIdAsync(frontier, cancellation).ConfigureAwait(false))
            {
                artifacts[a.Id] = a;
            }
        }

        var nodes = artifacts.Values.Select(a => new LineageNode($"a{a.Id}", "artifact", a.Id, a.Type, a.State.ToString(), Label(a), null, null))
            .Concat(executions.Values.Select(e => new LineageNode($"e{e.Id}", "execution", e.Id, e.Type, e.State.ToString(), Text(e.CustomProperties, NodeRunner.Properties.NodeId) ?? e.Type,
                Text(e.CustomProperties, NodeRunner.Properties.NodeId), Text(e.CustomProperties, NodeRunner.Properties.RunId))))
            .ToList();
        var edges = events.Where(e => artifacts.ContainsKey(e.Artifact) && executions.ContainsKey(e.Execution))
            .Select(e => e.Output ? new LineageEdge($"e{e.Execution}", $"a{e.Artifact}") : new LineageEdge($"a{e.Artifact}", $"e{e.Execution}"))
            .Distinct()
            .ToList();
        return new LineageGraph($"a{root.Id}", nodes, edges, truncated);
    }

    private static string Label(Artifact a)
    {
        if (a.Type == ArtifactTypes.ExternalFile)
        {
            return Path.GetFileName(a.Uri.TrimEnd('/', Path.DirectorySeparatorChar)) is { Length: > 0 } file ? file : a.Uri;
        }

        // {pipeline}/{node}/{output}/{executionId}: node.output reads best.
        var parts = a.Uri.Split('/');
        return parts.Length >= 4 ? $"{parts[^3]}.{parts[^2]}" : a.Type;
    }

    private static ExecutionView Describe(Execution e) => new(
        e.Id,
        e.Type,
        e.Name,
        e.State.ToString(),
        Text(e.CustomProperties, NodeRunner.Properties.NodeId),
        Text(e.CustomProperties, NodeRunner.Properties.RunId),
        Text(e.CustomProperties, NodeRunner.Properties.Pipeline),
        Text(e.CustomProperties, NodeRunner.Properties.Error),
        Number(e.CustomProperties, NodeRunner.Properties.CachedFrom),
        Number(e.CustomProperties, NodeRunner.Properties.Starts),
        e.CreateTime,
        e.LastUpdateTime);

    private static ArtifactView Describe(Artifact a) => new(
        a.Id, a.Type, a.Uri, a.State.ToString(), Label(a), Plain(a.Properties), Plain(a.CustomProperties), a.CreateTime);

    private static Dictionary<string, object?> Plain(IReadOnlyDictionary<string, MetadataValue> values) =>
        values.ToDictionary(p => p.Key, p => p.Value.Type switch
        {
            PropertyType.Int => (object?)p.Value.IntValue,
            PropertyType.Double => p.Value.DoubleValue,
            _ => p.Value.ToString(),
        }, StringComparer.Ordinal);

    // Executors' properties are recorded as custom properties; declared ones win where both exist.
    private static Dictionary<string, MetadataValue> Props(Artifact a)
    {
        var all = new Dictionary<string, MetadataValue>(a.CustomProperties, StringComparer.Ordinal);
        foreach (var (key, value) in a.Properties)
        {
            all[key] = value;
        }

        return all;
    }

    private static string? Text(IReadOnlyDictionary<string, MetadataValue> values, string key) =>
        values.TryGetValue(key, out var v) ? v.ToString() : null;

    private static long? Number(IReadOnlyDictionary<string, MetadataValue> values, string key) =>
        values.TryGetValue(key, out var v) && v.Type == PropertyType.Int ? v.IntValue : null;

    private static bool IsOutput(EventType type) => type is EventType.Output or EventType.DeclaredOutput or EventType.InternalOutput;

    private static bool IsInput(EventType type) => type is EventType.Input or EventType.DeclaredInput or EventType.InternalInput;

    // Pipeline artifacts live under blob prefixes; external files (sources) are local paths the dashboard never reads.
    private static bool IsBlobPrefix(string uri)
    {
        try
        {
            BlobNames.Validate(uri);
            return !Path.IsPathRooted(uri);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static string ContentType(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".html" or ".htm" => "text/html; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".json" => "application/json; charset=utf-8",
        ".csv" or ".txt" or ".yaml" or ".yml" or "" => "text/plain; charset=utf-8",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };
}

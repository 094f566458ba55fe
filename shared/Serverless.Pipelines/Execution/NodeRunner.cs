using System.Collections.Concurrent;
using Serverless.Metadata;
using Serverless.Storage;

namespace Serverless.Pipelines;

/// <summary>
/// Runs one node end to end; what a durable activity calls. Steps: resolve the component and parameters;
/// fingerprint path parameters and user code; compute the cache key; if an identical execution's outputs are
/// live, record a CACHED execution and return them; otherwise record the execution RUNNING with its inputs, run
/// the executor against staging prefixes, publish each output (marker last), and record the outputs and
/// COMPLETE in one transaction. On failure the execution is recorded FAILED with the error and nothing is
/// published; on cancellation, CANCELED.
/// </summary>
/// <remarks>
/// Idempotent per execution id: if the metadata already holds a COMPLETE or CACHED execution for the same
/// pipeline, node and execution id (an at-least-once activity delivered twice), its result is returned and
/// nothing runs. A RUNNING or FAILED record (a crashed or failed earlier attempt) is taken over and re-run.
/// </remarks>
public sealed class NodeRunner
{
    /// <summary>The metadata store's execution property names set by the runner.</summary>
    public static class Properties
    {
        /// <summary>The pipeline name.</summary>
        public const string Pipeline = "pipeline";

        /// <summary>The run id.</summary>
        public const string RunId = "run_id";

        /// <summary>The node id.</summary>
        public const string NodeId = "node_id";

        /// <summary>The request's execution id.</summary>
        public const string ExecutionId = "execution_id";

        /// <summary>The component version.</summary>
        public const string ComponentVersion = "component_version";

        /// <summary>The resolved parameters, canonical JSON.</summary>
        public const string Parameters = "parameters";

        /// <summary>The failure of a FAILED execution.</summary>
        public const string Error = "error";

        /// <summary>For a CACHED execution: the metadata id of the execution reused.</summary>
        public const string CachedFrom = "cached_from";

        /// <summary>How often the execution was started (RUNNING recorded) without finishing; see <see cref="PipelineLimits.MaxNodeStarts"/>.</summary>
        public const string Starts = "starts";
    }

    private readonly ComponentRegistry registry;
    private readonly IMetadataStore metadata;
    private readonly IBlobStore blobs;
    private readonly TimeProvider time;
    private readonly ArtifactPublisher publisher;
    private readonly CacheService cache;
    private readonly ConcurrentDictionary<(TypeKind, string), bool> registeredTypes = new();
    private readonly NodeRunnerOptions options;

    /// <summary>Creates a runner.</summary>
    /// <param name="registry">The components.</param>
    /// <param name="metadata">Where executions, artifacts and lineage are recorded.</param>
    /// <param name="blobs">The artifact store.</param>
    /// <param name="time">The clock; the system clock by default.</param>
    /// <param name="options">Host settings (allowed roots); default: none checked.</param>
    public NodeRunner(ComponentRegistry registry, IMetadataStore metadata, IBlobStore blobs, TimeProvider? time = null, NodeRunnerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(blobs);
        this.registry = registry;
        this.metadata = metadata;
        this.blobs = blobs;
        this.options = options ?? new NodeRunnerOptions();
        this.time = time ?? TimeProvider.System;
        publisher = new ArtifactPublisher(blobs, this.time);
        cache = new CacheService(metadata, blobs);
    }

    /// <summary>Runs the node described by <paramref name="request"/>.</summary>
    /// <returns>Complete, cached, or failed (an expected outcome: the executor threw, an input or data path is gone).</returns>
    /// <exception cref="ArgumentException">The request does not fit the component (a programming error: validate the pipeline first).</exception>
    /// <exception cref="OperationCanceledException">Canceled; the execution is recorded CANCELED.</exception>
    public async Task<NodeRunResult> RunAsync(NodeRunRequest request, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (options.Cancellation is not { } runs)
        {
            return await RunCoreAsync(request, cancellation).ConfigureAwait(false);
        }

        // A canceled run's node never starts (nor restarts after a crash), and a running one stops within a poll interval.
        var incarnation = MetadataRunCancellation.IncarnationOf(request.RunId, request.ExecutionId, request.NodeId);
        if (await runs.GetCancellationAsync(request.RunId, incarnation, cancellation).ConfigureAwait(false) is { } before)
        {
            return Canceled(request, before);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        using var watching = new CancellationTokenSource();
        string? reason = null;
        var watch = WatchAsync();
        try
        {
            return await RunCoreAsync(request, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (reason is not null && !cancellation.IsCancellationRequested)
        {
            return Canceled(request, reason);
        }
        finally
        {
            await watching.CancelAsync().ConfigureAwait(false);
            await watch.ConfigureAwait(false);
        }

        async Task WatchAsync()
        {
            while (!watching.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(options.CancellationPollInterval, time, watching.Token).ConfigureAwait(false);
                    if (await runs.GetCancellationAsync(request.RunId, incarnation, watching.Token).ConfigureAwait(false) is { } why)
                    {
                        reason = why;
                        await stop.CancelAsync().ConfigureAwait(false);
                        return;
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // A failed check must not fail the node: the next poll asks again.
                }
            }
        }
    }

    private static NodeRunResult Canceled(NodeRunRequest request, string reason) =>
        new(request.NodeId, request.ExecutionId, NodeRunStatus.Canceled, 0, new Dictionary<string, ArtifactRef>(), string.Empty, $"run canceled: {reason}");

    private async Task<NodeRunResult> RunCoreAsync(NodeRunRequest request, CancellationToken cancellation)
    {
        var component = registry.Get(request.Component);
        var spec = component.Spec;
        var parameters = ResolveParameters(spec, request);
        CheckInputs(spec, request);
        await EnsureTypesAsync(spec, cancellation).ConfigureAwait(false);

        var name = $"{request.PipelineName}/{request.NodeId}/{request.ExecutionId}";
        var contexts = Contexts(request);
        var existing = await metadata.GetExecutionByNameAsync(spec.Type, name, cancellation).ConfigureAwait(false);
        if (existing is { State: ExecutionState.Complete or ExecutionState.Cached })
        {
            return await RecordedResultAsync(request, existing, cancellation).ConfigureAwait(false);
        }

        var properties = new Dictionary<string, MetadataValue>(StringComparer.Ordinal)
        {
            [Properties.Pipeline] = request.PipelineName,
            [Properties.RunId] = request.RunId,
            [Properties.NodeId] = request.NodeId,
            [Properties.ExecutionId] = request.ExecutionId,
            [Properties.ComponentVersion] = spec.Version,
            [Properties.Parameters] = CanonicalJson.Of(parameters),
        };
        var execution = new Execution { Id = existing?.Id ?? 0, Type = spec.Type, Name = name, CustomProperties = properties };
        var inputArtifacts = await InputArtifactsAsync(request, cancellation).ConfigureAwait(false);

        // A RUNNING record means an earlier start of this execution never finished: its process died (killed for memory,
        // say). After MaxNodeStarts such starts the node fails instead of starting again, so a poison input fails its run
        // rather than crash-looping every worker that picks the activity up.
        var starts = existing is { State: ExecutionState.Running }
            ? existing.CustomProperties.TryGetValue(Properties.Starts, out var counted) && counted.Type == PropertyType.Int ? counted.IntValue : 1
            : 0;
        if (starts >= options.Limits.MaxNodeStarts)
        {
            var poison = new InvalidOperationException(
                $"node '{request.NodeId}' was started {starts} times without finishing (its process died each time, e.g. killed for using too much memory); it is not started again (host.json extensions.pipelines.limits.maxNodeStarts = {options.Limits.MaxNodeStarts})");
            return await FailAsync(request, execution, inputArtifacts, contexts, poison, string.Empty, cancellation).ConfigureAwait(false);
        }

        properties[Properties.Starts] = starts + 1;

        // Before anything reads or writes a location: it must resolve inside the allowed roots, whoever started the run.
        if (options.Roots is { } roots && roots.CheckNode(spec, parameters, request.UserCode) is { Count: > 0 } outside)
        {
            var denied = new UnauthorizedAccessException($"node '{request.NodeId}': " + string.Join("; ", outside.Select(o => $"{o.Field}: {o.Message}")));
            return await FailAsync(request, execution, inputArtifacts, contexts, denied, string.Empty, cancellation).ConfigureAwait(false);
        }

        // Fingerprinting reads the data: a path that vanished since validation is a failed execution, not a crash.
        var pathFingerprints = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var userCode = new List<string>();
        try
        {
            foreach (var parameter in spec.Parameters.Where(p => p.Type == ParameterType.Path && parameters.ContainsKey(p.Name)))
            {
                pathFingerprints[parameter.Name] = await Fingerprints.OfLocalPathAsync(parameters[parameter.Name].StringValue!, cancellation).ConfigureAwait(false);
            }

            foreach (var path in request.UserCode)
            {
                userCode.Add(await Fingerprints.OfLocalPathAsync(path, cancellation).ConfigureAwait(false));
            }
        }
        catch (FileNotFoundException e)
        {
            return await FailAsync(request, execution, inputArtifacts, contexts, e, string.Empty, cancellation).ConfigureAwait(false);
        }

        var key = new CacheKey(
            spec.Type,
            spec.Version,
            parameters,
            request.Inputs.ToDictionary(i => i.Key, i => i.Value.Fingerprint, StringComparer.Ordinal),
            pathFingerprints,
            CacheKey.CombineUserCode(userCode)).Compute();
        execution = execution with { CustomProperties = new Dictionary<string, MetadataValue>(properties) { [CacheService.CacheKeyProperty] = key } };
        var externalInputs = await ExternalInputsAsync(parameters, pathFingerprints, request.UserCode, userCode, cancellation).ConfigureAwait(false);
        inputArtifacts.AddRange(externalInputs);

        if (request.EnableCache && await cache.LookupAsync(key, spec, cancellation).ConfigureAwait(false) is { } hit)
        {
            return await RecordCachedAsync(request, execution, inputArtifacts, contexts, hit, key, cancellation).ConfigureAwait(false);
        }

        var running = await metadata.PutExecutionAsync(execution with { State = ExecutionState.Running }, inputArtifacts, contexts, cancellation).ConfigureAwait(false);
        execution = running.Execution;
        var outputs = CreateOutputs(spec, request);
        var published = new List<string>();
        try
        {
            var inputs = await OpenInputsAsync(request, cancellation).ConfigureAwait(false);
            var context = new ExecutorContext
            {
                PipelineName = request.PipelineName,
                RunId = request.RunId,
                NodeId = request.NodeId,
                ExecutionId = request.ExecutionId,
                BlobStore = blobs,
                Time = time,
                PathFingerprints = pathFingerprints,
                ScratchDirectory = options.ScratchDirectory,
            };
            await component.CreateExecutor().ExecuteAsync(inputs, outputs, new ComponentParameters(parameters), context, cancellation).ConfigureAwait(false);

            var records = new List<ArtifactAndEvent>();
            foreach (var output in outputs.Values)
            {
                if (output.Properties.ContainsKey(ArtifactRecords.FingerprintProperty))
                {
                    throw new InvalidOperationException($"Output '{output.Channel}' sets the reserved property '{ArtifactRecords.FingerprintProperty}'.");
                }

                var snapshot = output.Properties.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
                published.Add(output.Uri);
                var manifest = await publisher.PublishAsync(output.StagingPrefix, output.Uri, output.Type, snapshot, request.ExecutionId, cancellation).ConfigureAwait(false);
                var custom = new Dictionary<string, MetadataValue>(snapshot, StringComparer.Ordinal) { [ArtifactRecords.FingerprintProperty] = manifest.Fingerprint };
                records.Add(new ArtifactAndEvent(
                    new Artifact { Type = output.Type, Uri = output.Uri, State = ArtifactState.Live, CustomProperties = custom },
                    EventType.Output,
                    output.Channel));
            }

            // The commit point: outputs and COMPLETE together, or neither.
            var complete = await metadata.PutExecutionAsync(execution with { State = ExecutionState.Complete }, records, contexts, cancellation).ConfigureAwait(false);
            var refs = complete.Artifacts.ToDictionary(a => records.First(r => r.Artifact.Uri == a.Uri).Channel, ArtifactRecords.ToRef, StringComparer.Ordinal);
            return new NodeRunResult(request.NodeId, request.ExecutionId, NodeRunStatus.Complete, complete.Execution.Id, refs, key);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            await CleanUpAsync(outputs.Values, published).ConfigureAwait(false);
            await metadata.PutExecutionAsync(execution with { State = ExecutionState.Canceled }, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            await CleanUpAsync(outputs.Values, published).ConfigureAwait(false);
            return await FailAsync(request, execution, [], contexts, e, key, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static IReadOnlyDictionary<string, MetadataValue> ResolveParameters(ComponentSpec spec, NodeRunRequest request)
    {
        ArgumentException.ThrowIfNullOrEmpty(request.PipelineName);
        ArgumentException.ThrowIfNullOrEmpty(request.RunId);
        ArgumentException.ThrowIfNullOrEmpty(request.NodeId);
        ArgumentException.ThrowIfNullOrEmpty(request.ExecutionId);
        foreach (var segment in new[] { request.PipelineName, request.NodeId, request.ExecutionId })
        {
            if (!Names.IsValid(segment))
            {
                throw new ArgumentException($"'{segment}' cannot be an artifact path segment ({Names.Rule}).", nameof(request));
            }
        }

        var (values, errors) = spec.ResolveParameters(request.Parameters);
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Node '{request.NodeId}': " + string.Join("; ", errors.Select(e => $"parameter '{e.Parameter}': {e.Message}")), nameof(request));
        }

        return values;
    }

    private static void CheckInputs(ComponentSpec spec, NodeRunRequest request)
    {
        foreach (var (channel, artifact) in request.Inputs)
        {
            var input = spec.FindInput(channel) ?? throw new ArgumentException($"Node '{request.NodeId}': component '{spec.Type}' has no input '{channel}'.", nameof(request));
            if (artifact is null || artifact.Type != input.ArtifactType)
            {
                throw new ArgumentException($"Node '{request.NodeId}': input '{channel}' expects {input.ArtifactType}, got {artifact?.Type ?? "nothing"}.", nameof(request));
            }
        }

        var missing = spec.Inputs.FirstOrDefault(i => !i.Optional && !request.Inputs.ContainsKey(i.Name));
        if (missing is not null)
        {
            throw new ArgumentException($"Node '{request.NodeId}': required input '{missing.Name}' has no artifact.", nameof(request));
        }
    }

    private async Task EnsureTypesAsync(ComponentSpec spec, CancellationToken cancellation)
    {
        async Task Ensure(TypeKind kind, string name)
        {
            if (registeredTypes.ContainsKey((kind, name)))
            {
                return;
            }

            _ = kind switch
            {
                TypeKind.Artifact => await metadata.PutArtifactTypeAsync(name, null, cancellation).ConfigureAwait(false),
                TypeKind.Execution => await metadata.PutExecutionTypeAsync(name, null, cancellation).ConfigureAwait(false),
                _ => await metadata.PutContextTypeAsync(name, null, cancellation).ConfigureAwait(false),
            };
            registeredTypes[(kind, name)] = true;
        }

        await Ensure(TypeKind.Execution, spec.Type).ConfigureAwait(false);
        foreach (var type in spec.Inputs.Concat(spec.Outputs).Select(c => c.ArtifactType).Append(ArtifactTypes.ExternalFile).Distinct())
        {
            await Ensure(TypeKind.Artifact, type).ConfigureAwait(false);
        }

        foreach (var type in new[] { ContextTypes.Pipeline, ContextTypes.PipelineRun, ContextTypes.Node })
        {
            await Ensure(TypeKind.Context, type).ConfigureAwait(false);
        }
    }

    private static List<Context> Contexts(NodeRunRequest request) =>
    [
        new Context { Type = ContextTypes.Pipeline, Name = request.PipelineName },
        new Context { Type = ContextTypes.PipelineRun, Name = request.RunId },
        new Context { Type = ContextTypes.Node, Name = $"{request.PipelineName}.{request.NodeId}" },
    ];

    private async Task<List<ArtifactAndEvent>> InputArtifactsAsync(NodeRunRequest request, CancellationToken cancellation)
    {
        var ids = request.Inputs.Values.Select(a => a.Id).Distinct().ToList();
        var stored = (await metadata.GetArtifactsByIdAsync(ids, cancellation).ConfigureAwait(false)).ToDictionary(a => a.Id);
        var list = new List<ArtifactAndEvent>();
        foreach (var (channel, reference) in request.Inputs.OrderBy(i => i.Key, StringComparer.Ordinal))
        {
            var artifact = stored.TryGetValue(reference.Id, out var a)
                ? a
                : throw new ArgumentException($"Node '{request.NodeId}': input '{channel}' refers to artifact {reference.Id}, which is not in the metadata store.", nameof(request));
            list.Add(new ArtifactAndEvent(artifact, EventType.Input, channel));
        }

        return list;
    }

    // Source files and user code become ExternalFile input artifacts (reused when path and content are unchanged),
    // so lineage reaches the data a model came from, with its fingerprint.
    private async Task<List<ArtifactAndEvent>> ExternalInputsAsync(
        IReadOnlyDictionary<string, MetadataValue> parameters,
        IReadOnlyDictionary<string, string> pathFingerprints,
        IReadOnlyList<string> userCodePaths,
        IReadOnlyList<string> userCodeFingerprints,
        CancellationToken cancellation)
    {
        var list = new List<ArtifactAndEvent>();
        async Task<Artifact> External(string path, string fingerprint)
        {
            var known = await metadata.GetArtifactsByUriAsync(path, cancellation).ConfigureAwait(false);
            var match = known.LastOrDefault(a => a.Type == ArtifactTypes.ExternalFile
                && a.CustomProperties.TryGetValue(ArtifactRecords.FingerprintProperty, out var f) && f.StringValue == fingerprint);
            return match ?? new Artifact
            {
                Type = ArtifactTypes.ExternalFile,
                Uri = path,
                State = ArtifactState.Live,
                CustomProperties = new Dictionary<string, MetadataValue> { [ArtifactRecords.FingerprintProperty] = fingerprint },
            };
        }

        foreach (var (name, fingerprint) in pathFingerprints)
        {
            list.Add(new ArtifactAndEvent(await External(parameters[name].StringValue!, fingerprint).ConfigureAwait(false), EventType.Input, name));
        }

        for (var i = 0; i < userCodePaths.Count; i++)
        {
            list.Add(new ArtifactAndEvent(await External(userCodePaths[i], userCodeFingerprints[i]).ConfigureAwait(false), EventType.Input, "user_code", i));
        }

        return list;
    }

    private async Task<NodeRunResult> RecordCachedAsync(
        NodeRunRequest request, Execution execution, List<ArtifactAndEvent> inputs, List<Context> contexts, CacheHit hit, string key, CancellationToken cancellation)
    {
        var outputs = (await metadata.GetArtifactsByIdAsync(hit.Outputs.Values.Select(o => o.Id).ToList(), cancellation).ConfigureAwait(false)).ToDictionary(a => a.Id);
        var events = inputs.Concat(hit.Outputs.Select(o => new ArtifactAndEvent(outputs[o.Value.Id], EventType.Output, o.Key))).ToList();
        var cached = execution with
        {
            State = ExecutionState.Cached,
            CustomProperties = new Dictionary<string, MetadataValue>(execution.CustomProperties) { [Properties.CachedFrom] = hit.Execution.Id },
        };
        var stored = await metadata.PutExecutionAsync(cached, events, contexts, cancellation).ConfigureAwait(false);
        return new NodeRunResult(request.NodeId, request.ExecutionId, NodeRunStatus.Cached, stored.Execution.Id, hit.Outputs, key, CachedFromExecutionId: hit.Execution.Id);
    }

    private async Task<NodeRunResult> FailAsync(
        NodeRunRequest request, Execution execution, List<ArtifactAndEvent> inputs, List<Context> contexts, Exception error, string key, CancellationToken cancellation)
    {
        var message = $"{error.GetType().Name}: {error.Message}";
        var failed = execution with
        {
            State = ExecutionState.Failed,
            CustomProperties = new Dictionary<string, MetadataValue>(execution.CustomProperties) { [Properties.Error] = message },
        };
        var stored = await metadata.PutExecutionAsync(failed, inputs, contexts, cancellation).ConfigureAwait(false);
        return new NodeRunResult(request.NodeId, request.ExecutionId, NodeRunStatus.Failed, stored.Execution.Id, new Dictionary<string, ArtifactRef>(), key, message);
    }

    private async Task<NodeRunResult> RecordedResultAsync(NodeRunRequest request, Execution execution, CancellationToken cancellation)
    {
        var io = await metadata.GetExecutionIoAsync(execution.Id, cancellation).ConfigureAwait(false);
        var outputs = io.Outputs.ToDictionary(o => o.Channel, o => ArtifactRecords.ToRef(o.Artifact), StringComparer.Ordinal);
        var key = execution.CustomProperties.TryGetValue(CacheService.CacheKeyProperty, out var k) ? k.StringValue ?? string.Empty : string.Empty;
        long? cachedFrom = execution.CustomProperties.TryGetValue(Properties.CachedFrom, out var c) ? c.IntValue : null;
        var status = execution.State == ExecutionState.Cached ? NodeRunStatus.Cached : NodeRunStatus.Complete;
        return new NodeRunResult(request.NodeId, request.ExecutionId, status, execution.Id, outputs, key, CachedFromExecutionId: cachedFrom);
    }

    private Dictionary<string, OutputArtifact> CreateOutputs(ComponentSpec spec, NodeRunRequest request)
    {
        var attempt = Guid.NewGuid().ToString("N");
        return spec.Outputs.ToDictionary(
            o => o.Name,
            o => new OutputArtifact(
                o.Name,
                o.ArtifactType,
                ArtifactLayout.FinalPrefix(request.PipelineName, request.NodeId, o.Name, request.ExecutionId),
                ArtifactLayout.StagingPrefix(request.PipelineName, request.NodeId, o.Name, request.ExecutionId, attempt),
                blobs),
            StringComparer.Ordinal);
    }

    // Readers trust only published artifacts: an input without its marker, or with another fingerprint, fails the node.
    private async Task<Dictionary<string, InputArtifact>> OpenInputsAsync(NodeRunRequest request, CancellationToken cancellation)
    {
        var inputs = new Dictionary<string, InputArtifact>(StringComparer.Ordinal);
        foreach (var (channel, reference) in request.Inputs)
        {
            var manifest = await publisher.ReadManifestAsync(reference.Uri, cancellation).ConfigureAwait(false);
            if (manifest is null || manifest.Fingerprint != reference.Fingerprint)
            {
                throw new InvalidOperationException(
                    $"Input '{channel}' at '{reference.Uri}' is not a complete artifact (its {ArtifactLayout.MarkerName} marker is missing or has another fingerprint).");
            }

            inputs[channel] = new InputArtifact(channel, reference, manifest.Files, blobs);
        }

        return inputs;
    }

    private async Task CleanUpAsync(IEnumerable<OutputArtifact> outputs, IEnumerable<string> published)
    {
        // Best effort, not cancellable: leftovers without a marker are ignored by readers anyway.
        foreach (var prefix in outputs.Select(o => o.StagingPrefix).Concat(published))
        {
            try
            {
                await publisher.DeletePrefixAsync(prefix, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or BlobNotFoundException or UnauthorizedAccessException)
            {
                // Ignored on purpose: see above.
            }
        }
    }
}

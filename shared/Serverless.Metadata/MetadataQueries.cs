namespace Serverless.Metadata;

/// <summary>
/// The questions asked of lineage, built on <see cref="IMetadataStore"/>'s primitive queries so every
/// backend answers them the same way.
/// </summary>
public static class MetadataQueries
{
    /// <summary>Returns the executions of a pipeline run (the <c>pipeline_run</c> context named
    /// <paramref name="runId"/>), in id order; empty when the run is unknown.</summary>
    public static async Task<IReadOnlyList<Execution>> GetExecutionsOfRunAsync(this IMetadataStore store, string runId, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(runId);
        var context = await store.GetContextAsync(ContextTypes.PipelineRun, runId, cancellation).ConfigureAwait(false);
        return context is null ? [] : await store.GetExecutionsByContextAsync(context.Id, cancellation).ConfigureAwait(false);
    }

    /// <summary>Returns an execution with the artifacts it read and wrote, by channel.</summary>
    /// <exception cref="MetadataStoreException">The execution does not exist.</exception>
    public static async Task<ExecutionIo> GetExecutionIoAsync(this IMetadataStore store, long executionId, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var execution = await store.GetExecutionAsync(executionId, cancellation).ConfigureAwait(false)
            ?? throw new MetadataStoreException(MetadataErrorKind.NotFound, $"Execution {executionId} does not exist.");
        var events = await store.GetEventsByExecutionIdsAsync([executionId], cancellation).ConfigureAwait(false);
        var artifacts = (await store.GetArtifactsByIdAsync(events.Select(e => e.ArtifactId).Distinct().ToList(), cancellation).ConfigureAwait(false))
            .ToDictionary(a => a.Id);
        List<ChannelArtifact> inputs = [], outputs = [];
        foreach (var e in events.OrderBy(e => e.Channel, StringComparer.Ordinal).ThenBy(e => e.Index))
        {
            if (!artifacts.TryGetValue(e.ArtifactId, out var artifact))
            {
                continue;
            }

            if (e.Type is EventType.Input or EventType.DeclaredInput or EventType.InternalInput)
            {
                inputs.Add(new ChannelArtifact(e.Channel, e.Index, artifact));
            }
            else if (e.Type is EventType.Output or EventType.DeclaredOutput or EventType.InternalOutput)
            {
                outputs.Add(new ChannelArtifact(e.Channel, e.Index, artifact));
            }
        }

        return new ExecutionIo(execution, inputs, outputs);
    }

    /// <summary>
    /// Returns the full upstream lineage of an artifact: the executions that output it, the artifacts
    /// those executions read, and so on back to artifacts nothing produced (source files). A breadth-first
    /// walk, one query per hop, so a long pipeline costs a few dozen queries, not one per artifact.
    /// </summary>
    /// <exception cref="MetadataStoreException">The artifact does not exist.</exception>
    public static async Task<Lineage> GetUpstreamLineageAsync(this IMetadataStore store, long artifactId, int maxHops = 1000, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxHops);
        var root = await store.GetArtifactAsync(artifactId, cancellation).ConfigureAwait(false)
            ?? throw new MetadataStoreException(MetadataErrorKind.NotFound, $"Artifact {artifactId} does not exist.");

        var artifactOrder = new List<long> { root.Id };
        var seenArtifacts = new HashSet<long> { root.Id };
        var executionOrder = new List<long>();
        var seenExecutions = new HashSet<long>();
        var events = new List<Event>();
        var frontier = new List<long> { root.Id };
        for (var hop = 0; hop < maxHops && frontier.Count > 0; hop++)
        {
            // Artifacts -> the executions that output them.
            var producing = (await store.GetEventsByArtifactIdsAsync(frontier, cancellation).ConfigureAwait(false))
                .Where(e => e.Type is EventType.Output or EventType.InternalOutput)
                .ToList();
            events.AddRange(producing);
            var newExecutions = producing.Select(e => e.ExecutionId).Where(seenExecutions.Add).Distinct().ToList();
            executionOrder.AddRange(newExecutions);
            if (newExecutions.Count == 0)
            {
                break;
            }

            // Executions -> the artifacts they read.
            var consumed = (await store.GetEventsByExecutionIdsAsync(newExecutions, cancellation).ConfigureAwait(false))
                .Where(e => e.Type is EventType.Input or EventType.InternalInput)
                .ToList();
            events.AddRange(consumed);
            frontier = consumed.Select(e => e.ArtifactId).Where(seenArtifacts.Add).Distinct().ToList();
            artifactOrder.AddRange(frontier);
        }

        var artifacts = (await store.GetArtifactsByIdAsync(artifactOrder, cancellation).ConfigureAwait(false)).ToDictionary(a => a.Id);
        var executions = (await store.GetExecutionsByIdAsync(executionOrder, cancellation).ConfigureAwait(false)).ToDictionary(e => e.Id);
        return new Lineage(
            root,
            artifactOrder.Where(artifacts.ContainsKey).Select(id => artifacts[id]).ToList(),
            executionOrder.Where(executions.ContainsKey).Select(id => executions[id]).ToList(),
            events.Distinct().ToList());
    }
}

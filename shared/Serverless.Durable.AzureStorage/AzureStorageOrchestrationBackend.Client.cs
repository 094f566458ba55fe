using System.Globalization;
using Azure;
using Serverless.Durable.Backend;
using Serverless.Durable.History;
using Serverless.Storage.Blobs.Models;

namespace Serverless.Durable.AzureStorage;

public sealed partial class AzureStorageOrchestrationBackend
{
    /// <inheritdoc/>
    /// <remarks>Writes the state blob (Pending) with If-None-Match, or If-Match on a finished instance's ETag
    /// (replacing it), then sends the ExecutionStarted message. The conditions make two concurrent creators of one id
    /// race safely: exactly one wins, the other gets <see cref="InstanceAlreadyExistsException"/>.</remarks>
    public async Task CreateInstanceAsync(ExecutionStartedEvent started, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(started);
        CheckInitialized();
        var now = Now;
        for (var attempt = 0; ; attempt++)
        {
            var (existing, etag) = await ReadStateAsync(started.InstanceId, cancellation).ConfigureAwait(false);
            if (existing != null && !existing.Status.IsTerminal()) throw new InstanceAlreadyExistsException(started.InstanceId);
            var state = new StateDocument
            {
                Version = 0, Name = started.Name, Status = OrchestrationRuntimeStatus.Pending, CreatedAt = now, UpdatedAt = now,
                Input = started.Input, ParentInstanceId = started.ParentInstance?.InstanceId,
            };
            try
            {
                await WriteStateAsync(started.InstanceId, state,
                    etag is { } e ? new BlobRequestConditions { IfMatch = e } : new BlobRequestConditions { IfNoneMatch = ETag.All }, cancellation).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 && attempt < 3)
            {
                continue; // raced with another creator or a finishing turn: look again
            }
            if (existing != null)
            {
                // Replacing a finished instance: its history goes; the owner starts a fresh document on ExecutionStarted.
                await _history.GetBlobClient(Names.HistoryBlob(started.InstanceId)).DeleteIfExistsAsync(cancellation: cancellation).ConfigureAwait(false);
            }
            break;
        }
        await SendControlAsync(new ControlEnvelope
        {
            Id = "start:" + started.ExecutionId, Instance = started.InstanceId, FireAt = started.ScheduledStartTime?.ToUniversalTime().Ticks,
            Created = now.Ticks, Event = HistoryJson.Serialize(started),
        }, cancellation).ConfigureAwait(false);
        _orchestrationSignal.Pulse();
    }

    /// <inheritdoc/>
    public async Task<bool> SendMessageAsync(OrchestrationMessage message, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        CheckInitialized();
        if (!(await _instances.GetBlobClient(Names.Blob(message.InstanceId)).ExistsAsync(cancellation).ConfigureAwait(false)).Value) return false;
        await SendControlAsync(new ControlEnvelope
        {
            Id = Guid.NewGuid().ToString("N"), Instance = message.InstanceId, FireAt = message.VisibleAt?.ToUniversalTime().Ticks,
            Event = HistoryJson.Serialize(message.Event),
        }, cancellation).ConfigureAwait(false);
        _orchestrationSignal.Pulse();
        return true;
    }

    /// <inheritdoc/>
    public async Task<OrchestrationState?> GetStateAsync(string instanceId, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        CheckInitialized();
        var (state, _) = await ReadStateAsync(instanceId, cancellation).ConfigureAwait(false);
        return state == null ? null : ToState(instanceId, state, true);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        CheckInitialized();
        var (doc, _) = await ReadHistoryAsync(instanceId, cancellation).ConfigureAwait(false);
        return doc?.Events ?? [];
    }

    private sealed record Listed(string InstanceId, OrchestrationRuntimeStatus Status, DateTime CreatedAt);

    /// <summary>Lists instances from the state blobs' metadata (status, created), without reading their content.</summary>
    private async Task<List<Listed>> ListInstancesAsync(string? prefix, CancellationToken cancellation)
    {
        var list = new List<Listed>();
        await foreach (var item in _instances.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None,
                           string.IsNullOrEmpty(prefix) ? null : Names.Blob(prefix), cancellation).ConfigureAwait(false))
        {
            if (!item.Metadata.TryGetValue("status", out var s) || !item.Metadata.TryGetValue("created", out var c)) continue;
            list.Add(new Listed(Names.InstanceFromBlob(item.Name), (OrchestrationRuntimeStatus)int.Parse(s, CultureInfo.InvariantCulture),
                new DateTime(long.Parse(c, CultureInfo.InvariantCulture), DateTimeKind.Utc)));
        }
        list.Sort((a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        return list;
    }

    /// <inheritdoc/>
    /// <remarks>Filters on the state blobs' metadata while listing, then reads the page's state blobs in parallel.
    /// The continuation token is the last instance id of the page.</remarks>
    public async Task<OrchestrationQueryResult> QueryAsync(OrchestrationQuery query, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.PageSize, 1);
        CheckInitialized();
        var from = query.CreatedFrom?.ToUniversalTime();
        var to = query.CreatedTo?.ToUniversalTime();
        var matches = (await ListInstancesAsync(query.InstanceIdPrefix, cancellation).ConfigureAwait(false))
            .Where(l => query.Statuses is not { Count: > 0 } || query.Statuses.Contains(l.Status))
            .Where(l => from == null || l.CreatedAt >= from)
            .Where(l => to == null || l.CreatedAt <= to)
            .Where(l => string.IsNullOrEmpty(query.InstanceIdPrefix) || l.InstanceId.StartsWith(query.InstanceIdPrefix, StringComparison.Ordinal))
            .Where(l => query.ContinuationToken == null || string.CompareOrdinal(l.InstanceId, query.ContinuationToken) > 0)
            .Take(query.PageSize + 1)
            .ToList();
        string? next = null;
        if (matches.Count > query.PageSize)
        {
            matches.RemoveAt(matches.Count - 1);
            next = matches[^1].InstanceId;
        }
        var states = await Task.WhenAll(matches.Select(async m =>
        {
            var (s, _) = await ReadStateAsync(m.InstanceId, cancellation).ConfigureAwait(false);
            return s == null ? null : ToState(m.InstanceId, s, query.FetchInputsAndOutputs);
        })).ConfigureAwait(false);
        return new OrchestrationQueryResult(states.OfType<OrchestrationState>().ToList(), next);
    }

    /// <inheritdoc/>
    public async Task<int> PurgeAsync(string instanceId, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        CheckInitialized();
        var (state, etag) = await ReadStateAsync(instanceId, cancellation).ConfigureAwait(false);
        if (state == null || !state.Status.IsTerminal()) return 0;
        return await PurgeCoreAsync(instanceId, etag, cancellation).ConfigureAwait(false) ? 1 : 0;
    }

    private async Task<bool> PurgeCoreAsync(string instanceId, ETag? etag, CancellationToken cancellation)
    {
        try
        {
            // The state blob goes first, conditionally: if the instance was restarted meanwhile, nothing is deleted.
            await _instances.GetBlobClient(Names.Blob(instanceId)).DeleteAsync(conditions: new BlobRequestConditions { IfMatch = etag }, cancellation: cancellation).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return false;
        }
        _cache.TryRemove(instanceId, out _);
        var names = new List<string>();
        await foreach (var item in _history.GetBlobsAsync(BlobTraits.None, BlobStates.None, Names.Blob(instanceId) + "/", cancellation).ConfigureAwait(false))
            names.Add(item.Name);
        await Task.WhenAll(names.Select(n => _history.GetBlobClient(n).DeleteIfExistsAsync(cancellation: cancellation))).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc/>
    public async Task<int> PurgeAsync(PurgeFilter filter, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        CheckInitialized();
        var statuses = (filter.Statuses is { Count: > 0 } ? filter.Statuses : Enum.GetValues<OrchestrationRuntimeStatus>()).Where(s => s.IsTerminal()).ToHashSet();
        var from = filter.CreatedFrom?.ToUniversalTime();
        var to = filter.CreatedTo?.ToUniversalTime();
        var purged = 0;
        foreach (var l in await ListInstancesAsync(null, cancellation).ConfigureAwait(false))
        {
            if (!statuses.Contains(l.Status) || (from != null && l.CreatedAt < from) || (to != null && l.CreatedAt > to)) continue;
            purged += await PurgeAsync(l.InstanceId, cancellation).ConfigureAwait(false);
        }
        return purged;
    }

    /// <inheritdoc/>
    public async Task HeartbeatAsync(string workerId, IReadOnlyCollection<string> pools, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(workerId);
        ArgumentNullException.ThrowIfNull(pools);
        CheckInitialized();
        await _leases.GetBlobClient("workers/" + Uri.EscapeDataString(workerId)).UploadAsync(BinaryData.FromString(Json.Serialize(pools)), new BlobUploadOptions
        {
            Metadata = new Dictionary<string, string>
            {
                ["seen"] = Now.Ticks.ToString(CultureInfo.InvariantCulture),
                ["pools"] = string.Join(',', pools.Select(Uri.EscapeDataString)),
            },
        }, cancellation).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlySet<string>> GetLivePoolsAsync(DateTime since, CancellationToken cancellation = default)
    {
        CheckInitialized();
        var set = new HashSet<string>(StringComparer.Ordinal);
        var sinceTicks = since.ToUniversalTime().Ticks;
        await foreach (var item in _leases.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, "workers/", cancellation).ConfigureAwait(false))
        {
            if (!item.Metadata.TryGetValue("seen", out var s) || long.Parse(s, CultureInfo.InvariantCulture) < sinceTicks) continue;
            if (item.Metadata.TryGetValue("pools", out var p))
                foreach (var pool in p.Split(',', StringSplitOptions.RemoveEmptyEntries)) set.Add(Uri.UnescapeDataString(pool));
        }
        return set;
    }

    /// <inheritdoc/>
    /// <remarks>Releases this worker's partition leases so that other workers take them over at once.</remarks>
    public async ValueTask DisposeAsync()
    {
        var partitions = _partitions;
        if (partitions != null)
        {
            try { if (_partitionsStarting != null) await _partitionsStarting.ConfigureAwait(false); }
            catch (Exception ex) when (ex is RequestFailedException or OperationCanceledException) { }
            await partitions.DisposeAsync().ConfigureAwait(false);
        }
        _initLock.Dispose();
    }
}

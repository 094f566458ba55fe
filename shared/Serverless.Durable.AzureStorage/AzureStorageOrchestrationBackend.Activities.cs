using Azure;
using Serverless.Durable.Backend;
using Serverless.Durable.History;
using Serverless.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Serverless.Storage.Queues;

namespace Serverless.Durable.AzureStorage;

public sealed partial class AzureStorageOrchestrationBackend
{
    /// <inheritdoc/>
    /// <remarks>A message that may have run before (received more than once, leased locally at send time, or re-sent
    /// by a repair) is first checked against its result blob: if the activity already completed, its recorded result
    /// is sent again (the orchestration drops it if it has it) and the activity is not run a second time.</remarks>
    public async Task<IReadOnlyList<ActivityWorkItem>> LockNextActivityWorkItemsAsync(IReadOnlyCollection<string> pools, int maxCount, TimeSpan lockTimeout, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        CheckInitialized();
        var visibility = TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(lockTimeout.TotalSeconds), 1, MaxVisibility.TotalSeconds));
        var items = new List<ActivityWorkItem>();
        foreach (var pool in pools)
        {
            if (items.Count >= maxCount) break;
            var queue = WorkItemQueue(pool);
            await EnsureQueueAsync(queue, cancellation).ConfigureAwait(false);
            var received = await WithRecreateAsync(() => queue.ReceiveMessagesAsync(Math.Min(32, maxCount - items.Count), visibility, cancellation),
                () => queue.CreateIfNotExistsAsync(cancellation: cancellation)).ConfigureAwait(false);
            var ready = await Task.WhenAll(received.Value.Select(async m =>
            {
                ActivityEnvelope env;
                TaskScheduledEvent scheduled;
                try
                {
                    env = Json.Deserialize<ActivityEnvelope>(m.Body);
                    scheduled = (TaskScheduledEvent)HistoryJson.Deserialize(await ResolveEventAsync(env.Event, env.Blob, cancellation).ConfigureAwait(false));
                }
                catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or InvalidCastException or NotSupportedException
                                               || (ex is RequestFailedException r && r.Status == 404))
                {
                    await DeleteQuietlyAsync(queue, m.MessageId, m.PopReceipt, cancellation).ConfigureAwait(false);
                    return null;
                }
                if (_runningActivities.TryGetValue(env.Id, out var running))
                {
                    // Its lease ran out while this process still runs it (a late renewal on a busy machine): keep the
                    // newer pop receipt for the running copy instead of starting a second execution.
                    // A re-sent copy (another message id) is left alone: it reappears, and once this run has recorded
                    // its result the copy only re-sends that result.
                    if (running.MessageId == m.MessageId) lock (running) running.PopReceipt = m.PopReceipt;
                    return null;
                }
                var lease = new ActivityLease { Queue = queue, MessageId = m.MessageId, PopReceipt = m.PopReceipt, Envelope = env };
                if (m.DequeueCount > 1 || env.Local || env.Resent)
                {
                    var (applied, recorded) = await FindResultAsync(env, cancellation).ConfigureAwait(false);
                    if (applied || recorded != null)
                    {
                        if (recorded != null) await SendResultAsync(env, recorded, cancellation).ConfigureAwait(false);
                        await DeleteQuietlyAsync(queue, m.MessageId, m.PopReceipt, cancellation).ConfigureAwait(false);
                        return null;
                    }
                }
                _runningActivities[env.Id] = lease;
                return new ActivityWorkItem
                {
                    Message = new ActivityMessage(env.Instance, env.Execution, scheduled),
                    BackendState = lease,
                    DequeueCount = (int)Math.Max(0, m.DequeueCount - 1),
                    LockedUntil = Now + lockTimeout,
                };
            })).ConfigureAwait(false);
            items.AddRange(ready.OfType<ActivityWorkItem>());
        }
        return items;
    }

    /// <summary>Looks for the record that an activity already ran: its own result blob (large results), its result
    /// in the instance's history (results applied by a local turn have no other record once their batch is gone), or a
    /// result-batch blob whose metadata lists the task. Applied = already in history (nothing to re-send).</summary>
    private async Task<(bool Applied, string? Json)> FindResultAsync(ActivityEnvelope env, CancellationToken cancellation)
    {
        var single = await ReadResultAsync(env, cancellation).ConfigureAwait(false);
        if (single != null) return (false, single);
        var doc = _cache.TryGetValue(env.Instance, out var cached) ? cached.Document : (await ReadHistoryAsync(env.Instance, cancellation).ConfigureAwait(false)).Doc;
        if (doc != null && IsApplied(doc, env))
        {
            // Re-sent although applied: the message makes the partition owner load the instance, and that repairs a
            // turn that committed this result but died before sending its outbox (a local turn has no other message
            // that would bring the instance back); the owner drops it as consumed.
            var applied = doc.ExecutionId == env.Execution ? doc.Events.FirstOrDefault(e =>
                (e is TaskCompletedEvent c && c.TaskScheduledId == env.TaskId) || (e is TaskFailedEvent f && f.TaskScheduledId == env.TaskId)) : null;
            return (true, applied == null ? null : HistoryJson.Serialize(applied));
        }
        var task = env.TaskId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await foreach (var b in _history.GetBlobsAsync(BlobTraits.Metadata, prefix: Names.ResultBatchPrefix(env.Instance, env.Execution), cancellation: cancellation).ConfigureAwait(false))
        {
            if (!b.Metadata.TryGetValue("tasks", out var tasks) || !tasks.Split(',').Contains(task, StringComparer.Ordinal)) continue;
            try
            {
                var content = await _history.GetBlobClient(b.Name).DownloadContentAsync(cancellation).ConfigureAwait(false);
                var hit = Json.Deserialize<List<BatchedResult>>(content.Value.Content).FirstOrDefault(r => r.TaskId == env.TaskId);
                if (hit != null) return (false, hit.Event);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // Purged meanwhile.
            }
        }
        return (false, null);
    }

    private static bool IsApplied(HistoryDocument doc, ActivityEnvelope env)
    {
        if (doc.Consumed.Contains($"r:{env.Execution}:{env.TaskId}", StringComparer.Ordinal)) return true;
        return doc.ExecutionId == env.Execution && doc.Events.Any(e =>
            (e is TaskCompletedEvent c && c.TaskScheduledId == env.TaskId) || (e is TaskFailedEvent f && f.TaskScheduledId == env.TaskId));
    }

    private async Task<string?> ReadResultAsync(ActivityEnvelope env, CancellationToken cancellation)
    {
        try
        {
            var r = await _history.GetBlobClient(Names.ResultBlob(env.Instance, env.Execution, env.TaskId)).DownloadContentAsync(cancellation).ConfigureAwait(false);
            return r.Value.Content.ToString();
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Sends an activity's recorded result to its orchestration. The message id is derived from the task, so
    /// however often it is sent the orchestration applies it once; a large result is not copied again, the message
    /// points at the result blob.</summary>
    private async Task SendResultAsync(ActivityEnvelope env, string resultJson, CancellationToken cancellation)
    {
        var id = $"r:{env.Execution}:{env.TaskId}";
        var small = System.Text.Encoding.UTF8.GetByteCount(resultJson) < _options.MaxMessageBytes - 1024;
        await SendControlAsync(new ControlEnvelope
        {
            Id = id, Instance = env.Instance,
            Event = small ? resultJson : null, Blob = small ? null : Names.ResultBlob(env.Instance, env.Execution, env.TaskId),
        }, cancellation).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<bool> RenewActivityWorkItemLockAsync(ActivityWorkItem workItem, TimeSpan lockTimeout, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var lease = (ActivityLease)workItem.BackendState!;
        var visibility = TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(lockTimeout.TotalSeconds), 1, MaxVisibility.TotalSeconds));
        try
        {
            string receipt;
            lock (lease) receipt = lease.PopReceipt;
            var r = await lease.Queue.UpdateMessageAsync(lease.MessageId, receipt, null, visibility, cancellation).ConfigureAwait(false);
            lock (lease) if (lease.PopReceipt == receipt) lease.PopReceipt = r.Value.PopReceipt;
            workItem.LockedUntil = Now + lockTimeout;
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 400 or 404)
        {
            return false;
        }
    }

    /// <inheritdoc/>
    /// <remarks>Order: (1) the result blob, created once (If-None-Match; a second completion adopts the first result),
    /// the record that the activity ran; (2) the result message to the control queue; (3) deletion of the work item.
    /// A crash after (1) makes the redelivered work item re-send the recorded result instead of running again.</remarks>
    public async Task CompleteActivityWorkItemAsync(ActivityWorkItem workItem, HistoryEvent result, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(result);
        var lease = (ActivityLease)workItem.BackendState!;
        try
        {
            await CompleteCoreAsync(lease, result, cancellation).ConfigureAwait(false);
        }
        finally
        {
            // Also on failure: the engine may give up, and the redelivered message must then be able to run again.
            _runningActivities.TryRemove(lease.Envelope.Id, out _);
        }
        _orchestrationSignal.Pulse();
    }

    /// <inheritdoc/>
    /// <remarks>When this process owns the instance's partition, holds its last committed history document, the instance
    /// is not leased and has no buffered messages, and this was its last outstanding activity, the result goes straight
    /// into a work item for the instance's next turn: no result blob, no result message, no receive. The activity's
    /// work item is deleted after that turn commits (the result is then in history, where a redelivered work item finds
    /// it); if the turn does not commit, the result is sent the ordinary way.</remarks>
    public async Task<OrchestrationWorkItem?> CompleteActivityWorkItemAndLockAsync(ActivityWorkItem workItem, HistoryEvent result, TimeSpan lockTimeout,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(result);
        var item = TryLockForLocalResult((ActivityLease)workItem.BackendState!, result, lockTimeout);
        if (item != null) return item;
        await CompleteActivityWorkItemAsync(workItem, result, cancellation).ConfigureAwait(false);
        return null;
    }

    private OrchestrationWorkItem? TryLockForLocalResult(ActivityLease lease, HistoryEvent result, TimeSpan lockTimeout)
    {
        var env = lease.Envelope;
        if (!_options.LocalShortcuts || _partitions == null || !_cache.TryGetValue(env.Instance, out var cached)) return null;
        var doc = cached.Document;
        if (doc.ExecutionId != env.Execution || doc.Status.IsTerminal()) return null;
        // Only the last outstanding activity: a fan-out's results are applied in batches, not one turn each.
        var outstanding = new HashSet<int>();
        foreach (var e in doc.Events)
        {
            if (e is TaskScheduledEvent s) outstanding.Add(s.EventId);
            else if (e is TaskCompletedEvent c) outstanding.Remove(c.TaskScheduledId);
            else if (e is TaskFailedEvent f) outstanding.Remove(f.TaskScheduledId);
        }
        if (outstanding.Count != 1 || !outstanding.Contains(env.TaskId)) return null;
        var id = $"r:{env.Execution}:{env.TaskId}";
        if (doc.Consumed.Contains(id, StringComparer.Ordinal)) return null;
        lock (_bufferLock)
        {
            if (!_partitions.IsOwned(Names.Partition(env.Instance, _partitionCount))) return null;
            if (_locked.Contains(env.Instance) || _pending.ContainsKey(env.Instance)) return null;
            if (!_cache.TryGetValue(env.Instance, out var again) || !ReferenceEquals(again, cached)) return null;
            _locked.Add(env.Instance);
        }
        return new OrchestrationWorkItem
        {
            InstanceId = env.Instance,
            ExecutionId = doc.ExecutionId,
            Status = doc.Status,
            HistoryCount = doc.Events.Count,
            Messages = [new OrchestrationMessage(env.Instance, result)],
            BackendState = new TurnLease { Entries = [], Document = doc, ETag = cached.ETag, LocalResults = [new LocalResult(lease, result, id)] },
            LockedUntil = Now + lockTimeout,
        };
    }

    /// <summary>After the turn that recorded them committed: deletes the local results' work items.</summary>
    private async Task DeleteLocalResultsAsync(TurnLease turn, CancellationToken cancellation)
    {
        var results = TakeLocalResults(turn);
        try
        {
            await Task.WhenAll(results.Select(r =>
            {
                string receipt;
                lock (r.Lease) receipt = r.Lease.PopReceipt;
                return DeleteQuietlyAsync(r.Lease.Queue, r.Lease.MessageId, receipt, cancellation);
            })).ConfigureAwait(false);
        }
        finally
        {
            foreach (var r in results) _runningActivities.TryRemove(r.Lease.Envelope.Id, out _);
        }
    }

    /// <summary>The turn that was to record local results did not commit: sends them the ordinary way (best effort; if
    /// that fails too, the work item reappears when its lease runs out and the activity runs again).</summary>
    private async Task FallBackLocalResultsAsync(TurnLease turn)
    {
        foreach (var r in TakeLocalResults(turn))
        {
            try
            {
                await CompleteCoreAsync(r.Lease, r.Result, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RequestFailedException or IOException or HttpRequestException or TaskCanceledException)
            {
                _logger.LogWarning(ex, "Sending the result of activity {TaskId} of {InstanceId} failed; it will run again when its lease expires.",
                    r.Lease.Envelope.TaskId, r.Lease.Envelope.Instance);
            }
            finally
            {
                _runningActivities.TryRemove(r.Lease.Envelope.Id, out _);
            }
        }
        _orchestrationSignal.Pulse();
    }

    private static List<LocalResult> TakeLocalResults(TurnLease turn)
    {
        lock (turn.LocalResults)
        {
            var taken = turn.LocalResults.ToList();
            turn.LocalResults.Clear();
            return taken;
        }
    }

    private async Task CompleteCoreAsync(ActivityLease lease, HistoryEvent result, CancellationToken cancellation)
    {
        var json = HistoryJson.Serialize(result);
        if (_options.BatchResults && System.Text.Encoding.UTF8.GetByteCount(json) <= _options.MaxMessageBytes / 8)
        {
            // Small result: joins the instance's next result batch (one blob and one message for many results).
            await EnqueueResultAsync(lease.Envelope, json).ConfigureAwait(false);
            string r;
            lock (lease) r = lease.PopReceipt;
            await DeleteQuietlyAsync(lease.Queue, lease.MessageId, r, cancellation).ConfigureAwait(false);
            return;
        }
        var blob = _history.GetBlobClient(Names.ResultBlob(lease.Envelope.Instance, lease.Envelope.Execution, lease.Envelope.TaskId));
        try
        {
            await WithRecreateAsync(() => blob.UploadAsync(BinaryData.FromString(json), new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellation),
                () => _history.CreateIfNotExistsAsync(cancellation: cancellation)).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            json = (await blob.DownloadContentAsync(cancellation).ConfigureAwait(false)).Value.Content.ToString();
        }
        await SendResultAsync(lease.Envelope, json, cancellation).ConfigureAwait(false);
        string receipt;
        lock (lease) receipt = lease.PopReceipt;
        await DeleteQuietlyAsync(lease.Queue, lease.MessageId, receipt, cancellation).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task AbandonActivityWorkItemAsync(ActivityWorkItem workItem, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var lease = (ActivityLease)workItem.BackendState!;
        _runningActivities.TryRemove(lease.Envelope.Id, out _);
        try
        {
            string receipt;
            lock (lease) receipt = lease.PopReceipt;
            await lease.Queue.UpdateMessageAsync(lease.MessageId, receipt, null, TimeSpan.Zero, cancellation).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 400 or 404)
        {
            // Already taken by another worker or gone.
        }
        _activitySignal.Pulse();
    }

}

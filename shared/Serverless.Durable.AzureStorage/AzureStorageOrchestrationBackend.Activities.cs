using Azure;
using Serverless.Durable.Backend;
using Serverless.Durable.History;
using Serverless.Storage.Blobs.Models;
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
                    var recorded = await ReadResultAsync(env, cancellation).ConfigureAwait(false);
                    if (recorded != null)
                    {
                        await SendResultAsync(env, recorded, cancellation).ConfigureAwait(false);
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

    private async Task CompleteCoreAsync(ActivityLease lease, HistoryEvent result, CancellationToken cancellation)
    {
        var json = HistoryJson.Serialize(result);
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

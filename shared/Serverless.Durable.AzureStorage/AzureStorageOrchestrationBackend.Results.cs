using Serverless.Durable.History;
using Serverless.Storage.Blobs.Models;

namespace Serverless.Durable.AzureStorage;

public sealed partial class AzureStorageOrchestrationBackend
{
    // Result batching, per instance, group-commit style: the first result of an instance is written at once; results
    // completing while that write is in flight wait and go together in the next write (no timer, no added latency).
    private readonly Lock _batchLock = new();
    private readonly Dictionary<string, List<PendingResult>> _resultQueues = new(StringComparer.Ordinal);

    private sealed record PendingResult(ActivityEnvelope Envelope, string Json, TaskCompletionSource Done);

    /// <summary>Queues a small result for its instance's next batch; completes when the batch's blob and control
    /// message are written (then the caller deletes its work item).</summary>
    private Task EnqueueResultAsync(ActivityEnvelope env, string json)
    {
        var pending = new PendingResult(env, json, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        List<PendingResult>? start = null;
        lock (_batchLock)
        {
            if (_resultQueues.TryGetValue(env.Instance, out var queue)) queue.Add(pending);
            else _resultQueues[env.Instance] = start = [pending];
        }
        if (start != null) _ = FlushResultsAsync(env.Instance, start);
        return pending.Done.Task;
    }

    private async Task FlushResultsAsync(string instance, List<PendingResult> queue)
    {
        await Task.Yield(); // let activities completing at this moment join the first batch
        while (true)
        {
            List<PendingResult> batch;
            lock (_batchLock)
            {
                if (queue.Count == 0)
                {
                    _resultQueues.Remove(instance);
                    return;
                }
                // One execution per batch; as many results as fit in one queue message (JSON-escaped, with margin).
                batch = [];
                var bytes = 512;
                foreach (var p in queue)
                {
                    var size = p.Json.Length * 3 / 2 + 96;
                    if (batch.Count > 0 && (batch.Count >= _options.MaxResultBatch || bytes + size > _options.MaxMessageBytes
                                            || p.Envelope.Execution != batch[0].Envelope.Execution)) break;
                    batch.Add(p);
                    bytes += size;
                }
                queue.RemoveRange(0, batch.Count);
            }
            try
            {
                await WriteResultBatchAsync(instance, batch).ConfigureAwait(false);
                foreach (var p in batch) p.Done.TrySetResult();
            }
            catch (Exception ex)
            {
                foreach (var p in batch) p.Done.TrySetException(ex);
            }
        }
    }

    /// <summary>(1) the result-batch blob, whose metadata lists the task ids (the record that these activities ran,
    /// found by a redelivered work item); (2) one control message with every result, each with its own dedupe id.</summary>
    private async Task WriteResultBatchAsync(string instance, List<PendingResult> batch)
    {
        var execution = batch[0].Envelope.Execution;
        var items = batch.Select(p => new BatchedResult { Id = $"r:{execution}:{p.Envelope.TaskId}", TaskId = p.Envelope.TaskId, Event = p.Json }).ToList();
        var blob = _history.GetBlobClient(Names.ResultBatchBlob(instance, execution));
        var metadata = new Dictionary<string, string>
        {
            ["tasks"] = string.Join(',', batch.Select(p => p.Envelope.TaskId.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        };
        await WithRecreateAsync(() => blob.UploadAsync(BinaryData.FromString(Json.Serialize(items)), new BlobUploadOptions { Metadata = metadata }, CancellationToken.None),
            () => _history.CreateIfNotExistsAsync(cancellation: CancellationToken.None)).ConfigureAwait(false);
        var env = new ControlEnvelope { Id = "rb:" + Guid.NewGuid().ToString("N"), Instance = instance, Results = items };
        var text = Json.Serialize(env);
        if (System.Text.Encoding.UTF8.GetByteCount(text) <= _options.MaxMessageBytes)
        {
            var partition = Names.Partition(instance, _partitionCount);
            var queue = _control[partition];
            await WithRecreateAsync(() => queue.SendMessageAsync(text, null, TimeSpan.FromSeconds(-1), CancellationToken.None),
                () => queue.CreateIfNotExistsAsync(cancellation: CancellationToken.None)).ConfigureAwait(false);
            MarkHot(partition);
        }
        else
        {
            // Larger than estimated: one message per result (each offloaded to a blob if it must be).
            await Task.WhenAll(items.Select(i => SendControlAsync(new ControlEnvelope { Id = i.Id, Instance = instance, Event = i.Event }, CancellationToken.None))).ConfigureAwait(false);
        }
    }
}

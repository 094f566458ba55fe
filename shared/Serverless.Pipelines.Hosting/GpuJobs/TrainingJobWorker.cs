using System.Net;
using System.Net.Http.Json;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Hosting;
using Serverless.Ml.Components.Trainer;
using Serverless.Pipelines.Orchestration;
using Serverless.Storage;

namespace Serverless.Pipelines.Hosting.GpuJobs;

/// <summary>
/// The trainer app's queue worker: leases one job at a time (visibility timeout, renewed every third of it while the node
/// runs), raises <c>TrainingStarted</c>, runs the node through the same <see cref="NodeRunner"/> the node activity uses,
/// with the job's checkpoints restored from and copied to the artifact store as they change, raises
/// <c>TrainingCompleted</c> or <c>TrainingFailed</c> through the job's callback with a plain HTTP POST (no Durable
/// dependency), then deletes the message. A worker that dies leaves the message to reappear after its visibility timeout,
/// and the next worker resumes from the last checkpoint; a job handed out more than
/// <see cref="TrainerJobOptions.MaxDequeueCount"/> times fails its node instead.
/// </summary>
public sealed class TrainingJobWorker : BackgroundService
{
    private readonly TrainingJobQueue queue;
    private readonly NodeRunner runner;
    private readonly IBlobStore blobs;
    private readonly string scratch;
    private readonly HttpClient http;
    private readonly ILogger logger;

    /// <summary>Creates the worker.</summary>
    /// <param name="queue">The job queue (its options: visibility, poll interval, dequeue limit).</param>
    /// <param name="runner">The node runner (the trainer app's components, metadata and artifact stores).</param>
    /// <param name="blobs">The artifact store (checkpoint copies).</param>
    /// <param name="scratch">The scratch root: local checkpoints live under <c>{scratch}/checkpoints</c> unless the node sets <c>checkpoint_dir</c>.</param>
    /// <param name="http">Posts the events.</param>
    /// <param name="logger">Logs each job.</param>
    public TrainingJobWorker(TrainingJobQueue queue, NodeRunner runner, IBlobStore blobs, string scratch, HttpClient http, ILogger<TrainingJobWorker>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentException.ThrowIfNullOrEmpty(scratch);
        ArgumentNullException.ThrowIfNull(http);
        this.queue = queue;
        this.runner = runner;
        this.blobs = blobs;
        this.scratch = scratch;
        this.http = http;
        this.logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Who this worker is in events and logs: <c>{host}/{pid}</c>.</summary>
    public static string WorkerName => $"{Environment.MachineName}/{Environment.ProcessId}";

    private TrainerJobOptions Options => queue.Options;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("Working off queue {Queue} as {Worker}", queue.Name, WorkerName);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!await RunOnceAsync(stoppingToken).ConfigureAwait(false))
                {
                    await Task.Delay(Options.PollInterval, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The queue or the network failed: the job (if any) reappears after its visibility timeout.
                logger.LogWarning(e, "Job queue {Queue}: {Message}; retrying", queue.Name, e.Message);
                await Task.Delay(Options.PollInterval, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Leases and runs one job.</summary>
    /// <returns>False when the queue was empty.</returns>
    public async Task<bool> RunOnceAsync(CancellationToken cancellation = default)
    {
        if (await queue.ReceiveAsync(Options.VisibilityTimeout, cancellation).ConfigureAwait(false) is not { } message)
        {
            return false;
        }

        TrainingJobMessage job;
        try
        {
            job = TrainingJobQueue.Parse(message);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or NotSupportedException or InvalidOperationException)
        {
            logger.LogError("Queue {Queue}: message {Id} is not a training job ({Error}); deleted", queue.Name, message.MessageId, e.Message);
            await queue.TryDeleteAsync(message.MessageId, message.PopReceipt, cancellation).ConfigureAwait(false);
            return true;
        }

        var lease = new Lease(message.MessageId, message.PopReceipt);
        if (message.DequeueCount > Options.MaxDequeueCount)
        {
            var error = $"training job '{job.JobId}' was handed out {message.DequeueCount} times without finishing (its worker died each time, e.g. killed for memory); " +
                $"it is not run again (extensions.pipelines.trainerJobs.maxDequeueCount = {Options.MaxDequeueCount})";
            logger.LogError("{Error}", error);
            if (await RaiseAsync(job, job.Events.Failed, Event(job, message) with { Error = error }, cancellation).ConfigureAwait(false) != Delivery.Failed)
            {
                await queue.TryDeleteAsync(lease.MessageId, lease.PopReceipt, cancellation).ConfigureAwait(false);
            }

            return true;
        }

        logger.LogInformation("Job {Job} attempt {Attempt} (delivery {Delivery}): node {Node} ({Component})", job.JobId, job.Attempt, message.DequeueCount, job.Request.NodeId, job.Request.Component);
        if (await RaiseAsync(job, job.Events.Started, Event(job, message), cancellation).ConfigureAwait(false) == Delivery.Gone)
        {
            await queue.TryDeleteAsync(lease.MessageId, lease.PopReceipt, cancellation).ConfigureAwait(false);
            return true;
        }

        var checkpoints = LocalCheckpointFolder(job.Request);
        await RestoreCheckpointsAsync(job.CheckpointUri, checkpoints, cancellation).ConfigureAwait(false);
        using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var keepAlive = KeepAliveAsync(lease, job.CheckpointUri, checkpoints, running.Token);
        NodeRunResult? result = null;
        string? failure = null;
        try
        {
            result = await runner.RunAsync(job.Request, cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Shutting down (SIGTERM): hand the job back at once; the next worker resumes from the checkpoint.
            await running.CancelAsync().ConfigureAwait(false);
            await keepAlive.ConfigureAwait(false);
            await ReleaseAsync(lease).ConfigureAwait(false);
            throw;
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or InvalidOperationException)
        {
            // The request does not fit this app's components (an unknown component, a component of another version).
            failure = $"the trainer app {WorkerName} cannot run node '{job.Request.NodeId}': {e.Message}";
        }
        finally
        {
            await running.CancelAsync().ConfigureAwait(false);
            await keepAlive.ConfigureAwait(false);
        }

        var done = result is { Succeeded: true }
            ? await RaiseAsync(job, job.Events.Completed, Event(job, message) with { Result = result }, cancellation).ConfigureAwait(false)
            : await RaiseAsync(job, job.Events.Failed, Event(job, message) with { Error = failure ?? result?.Error ?? "the node failed" }, cancellation).ConfigureAwait(false);
        if (done == Delivery.Failed)
        {
            // The orchestration did not hear it: leave the message to reappear; the next worker gets the recorded result at once.
            logger.LogWarning("Job {Job}: the callback failed; the message reappears after its visibility timeout", job.JobId);
            return true;
        }

        if (result is { Succeeded: true })
        {
            await DeleteCheckpointCopiesAsync(job.CheckpointUri, cancellation).ConfigureAwait(false);
        }

        await queue.TryDeleteAsync(lease.MessageId, lease.PopReceipt, cancellation).ConfigureAwait(false);
        logger.LogInformation("Job {Job}: {Status}", job.JobId, result?.Status.ToString() ?? "Failed");
        return true;
    }

    private static TrainingJobEvent Event(TrainingJobMessage job, QueueMessage message) => new()
    {
        JobId = job.JobId,
        Attempt = job.Attempt,
        Worker = WorkerName,
        DequeueCount = (int)Math.Min(int.MaxValue, message.DequeueCount),
    };

    private enum Delivery
    {
        Delivered,
        Gone,
        Failed,
    }

    /// <summary>POSTs the event to the callback; retried on transient failures. 404/410: the instance is gone or finished.</summary>
    private async Task<Delivery> RaiseAsync(TrainingJobMessage job, string eventName, TrainingJobEvent payload, CancellationToken cancellation)
    {
        var uri = job.CallbackFor(eventName);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var response = await http.PostAsJsonAsync(uri, payload, DurableJson.Options, cancellation).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return Delivery.Delivered;
                }

                if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
                {
                    logger.LogWarning("Job {Job}: instance {Instance} is gone or finished ({Status}); event {Event} dropped", job.JobId, job.InstanceId, (int)response.StatusCode, eventName);
                    return Delivery.Gone;
                }

                var body = await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false);
                if ((int)response.StatusCode < 500 || attempt >= 5)
                {
                    logger.LogError("Job {Job}: event {Event} answered {Status}: {Body}", job.JobId, eventName, (int)response.StatusCode, body);
                    return Delivery.Failed;
                }
            }
            catch (HttpRequestException e) when (attempt < 5)
            {
                logger.LogWarning("Job {Job}: event {Event}: {Error}; retrying", job.JobId, eventName, e.Message);
            }
            catch (HttpRequestException e)
            {
                logger.LogError("Job {Job}: event {Event}: {Error}", job.JobId, eventName, e.Message);
                return Delivery.Failed;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200 * (1 << attempt)), cancellation).ConfigureAwait(false);
        }
    }

    private sealed class Lease(string messageId, string popReceipt)
    {
        public string MessageId { get; } = messageId;

        public string PopReceipt { get; set; } = popReceipt;
    }

    /// <summary>Renews the lease and copies changed checkpoint files to the artifact store every third of the visibility timeout.</summary>
    private async Task KeepAliveAsync(Lease lease, string checkpointUri, string checkpoints, CancellationToken stop)
    {
        var every = Options.VisibilityTimeout / 3;
        var copied = new Dictionary<string, (long Length, DateTime Written)>(StringComparer.Ordinal);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, stop).ConfigureAwait(false);
                lease.PopReceipt = await queue.RenewAsync(lease.MessageId, lease.PopReceipt, Options.VisibilityTimeout, stop).ConfigureAwait(false);
                await CopyCheckpointsAsync(checkpointUri, checkpoints, copied, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogWarning("Renewing job message {Id}: {Error}", lease.MessageId, e.Message);
            }
        }
    }

    private async Task ReleaseAsync(Lease lease)
    {
        try
        {
            lease.PopReceipt = await queue.RenewAsync(lease.MessageId, lease.PopReceipt, TimeSpan.Zero).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning("Releasing job message {Id}: {Error}", lease.MessageId, e.Message);
        }
    }

    /// <summary>The local folder the node checkpoints into: the Trainer's (<see cref="TrainerExecutor.CheckpointPath"/>).</summary>
    private string LocalCheckpointFolder(NodeRunRequest request)
    {
        var root = request.Parameters.TryGetValue("checkpoint_dir", out var value) && value.StringValue is { } dir ? dir : string.Empty;
        var context = new ExecutorContext
        {
            PipelineName = request.PipelineName,
            RunId = request.RunId,
            NodeId = request.NodeId,
            ExecutionId = request.ExecutionId,
            BlobStore = blobs,
            ScratchDirectory = scratch,
        };
        return Path.GetDirectoryName(TrainerExecutor.CheckpointPath(root, context))!;
    }

    /// <summary>Copies the job's checkpoint files from the artifact store where this machine has none (another worker's progress).</summary>
    private async Task RestoreCheckpointsAsync(string checkpointUri, string folder, CancellationToken cancellation)
    {
        await foreach (var blob in blobs.ListAsync(checkpointUri, cancellation).ConfigureAwait(false))
        {
            var relative = blob.Name[checkpointUri.Length..];
            var local = Path.GetFullPath(Path.Combine(folder, relative));
            if (relative.Length == 0 || !local.StartsWith(Path.GetFullPath(folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal) || File.Exists(local))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(local)!);
            var partial = local + ".restoring";
            await using (var source = await blobs.OpenReadAsync(blob.Name, cancellation).ConfigureAwait(false))
            await using (var target = File.Create(partial))
            {
                await source.CopyToAsync(target, cancellation).ConfigureAwait(false);
            }

            File.Move(partial, local, overwrite: true);
            logger.LogInformation("Restored checkpoint {Blob}", blob.Name);
        }
    }

    private async Task CopyCheckpointsAsync(string checkpointUri, string folder, Dictionary<string, (long Length, DateTime Written)> copied, CancellationToken cancellation)
    {
        if (!Directory.Exists(folder))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(file);
            var relative = Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/');
            if (relative.EndsWith(".tmp", StringComparison.Ordinal) || relative.EndsWith(".restoring", StringComparison.Ordinal)
                || (copied.TryGetValue(relative, out var seen) && seen == (info.Length, info.LastWriteTimeUtc)))
            {
                continue;
            }

            // A copy taken first, so a checkpoint rewritten meanwhile is never uploaded half-old, half-new.
            var snapshot = Path.Combine(Path.GetTempPath(), $"ckpt-{Guid.NewGuid():N}");
            try
            {
                File.Copy(file, snapshot);
                await using var stream = File.OpenRead(snapshot);
                await blobs.UploadAsync(checkpointUri + relative, stream, cancellation: cancellation).ConfigureAwait(false);
                copied[relative] = (info.Length, info.LastWriteTimeUtc);
            }
            catch (IOException)
            {
                // Being replaced right now: the next round copies it.
            }
            finally
            {
                File.Delete(snapshot);
            }
        }
    }

    private async Task DeleteCheckpointCopiesAsync(string checkpointUri, CancellationToken cancellation)
    {
        var names = new List<string>();
        await foreach (var blob in blobs.ListAsync(checkpointUri, cancellation).ConfigureAwait(false))
        {
            names.Add(blob.Name);
        }

        foreach (var name in names)
        {
            await blobs.DeleteAsync(name, cancellation).ConfigureAwait(false);
        }
    }
}

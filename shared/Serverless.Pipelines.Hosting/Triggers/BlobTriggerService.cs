using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Pipelines;
using Serverless.Pipelines.Orchestration;
using Serverless.Storage;

namespace Serverless.Pipelines.Hosting.Triggers;

/// <summary>
/// The blob upload trigger: scans <c>{prefix}</c> every poll interval; a blob <c>{prefix}{pipeline}/{file}</c> starts one
/// run of <c>{pipeline}</c> with that file as its data, exactly once per settled blob version (ETag), across restarts.
/// </summary>
/// <remarks>
/// Like the Functions blob trigger, it keeps a receipt per processed version in storage
/// (<c>_receipts/blobtrigger/{hash of name}-{hash of ETag}</c>, fixed length whatever the blob's name; the name is in the
/// receipt's body). The run id is derived from the blob name and ETag, and a run is started only if no instance with that
/// id exists, so a crash between starting the run and writing the receipt cannot start it twice. A version starts a run
/// only once it has kept its ETag for the settle interval (a file still being written changes size and time), so a
/// growing file starts one run, on its final content. One bad blob never stops the trigger: a name the store cannot
/// address, an unknown or invalid pipeline, bad data gets a receipt with the error (in its metadata) and is not retried;
/// an unexpected error is logged and retried at the next scan; either way the scan goes on to the next blob.
/// </remarks>
public sealed class BlobTriggerService(PipelineRuntime runtime, ILogger<BlobTriggerService> logger) : BackgroundService
{
    /// <summary>The prefix of receipts in the blob store.</summary>
    public const string ReceiptPrefix = "_receipts/blobtrigger/";

    // Versions seen but not yet settled: name -> (ETag, when first seen with it). Only this process's scans use it.
    private readonly Dictionary<string, (string ETag, DateTimeOffset Since)> unsettled = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ScanOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "blob trigger scan failed");
            }

            try
            {
                await Task.Delay(runtime.Options.BlobTrigger.PollInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The receipt of one blob version: fixed length, so any valid blob name has a valid receipt name.</summary>
    public static string ReceiptName(string blobName, string etag) => $"{ReceiptPrefix}{PipelineRuntime.ShortHash(blobName)}-{PipelineRuntime.ShortHash(etag)}";

    /// <summary>
    /// The run id of one blob version, <c>{pipeline}-blob-{hash of name@ETag}</c>: the same version always gives the same
    /// id (a redelivered trigger finds its run), a new version a new one. The Functions app's blob trigger uses it too.
    /// </summary>
    public static string RunIdFor(string pipeline, string blobName, string etag)
    {
        ArgumentException.ThrowIfNullOrEmpty(pipeline);
        ArgumentNullException.ThrowIfNull(blobName);
        ArgumentNullException.ThrowIfNull(etag);
        return $"{pipeline}-blob-{PipelineRuntime.ShortHash(blobName + "@" + etag)}";
    }

    /// <summary>
    /// Starts the run of one blob version (<see cref="RunIdFor"/>, the blob as its data) unless an instance with that id
    /// exists; shared by this service and the Functions app's blob trigger.
    /// </summary>
    /// <param name="runtime">The pipeline services; the blob is read from its store.</param>
    /// <param name="pipelineName">The pipeline to start (the blob's folder under the prefix).</param>
    /// <param name="blobName">The blob's name in <see cref="PipelineRuntime.Blobs"/>.</param>
    /// <param name="etag">The blob version's ETag.</param>
    /// <param name="cancellation">Cancels the start.</param>
    /// <returns>The run id when this call started the run; null when its run already existed.</returns>
    /// <exception cref="PipelineValidationException">The blob's own fault: not a pipeline name, no such pipeline, bad data.</exception>
    /// <exception cref="ArgumentException">The blob's name is not one the store can address.</exception>
    public static async Task<string?> StartRunAsync(PipelineRuntime runtime, string pipelineName, string blobName, string etag, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(pipelineName);
        BlobNames.Validate(blobName);
        if (!Names.IsValid(pipelineName))
        {
            throw new PipelineValidationException([new PipelineError($"{ErrorText.Quote(pipelineName)} is not a pipeline name ({Names.Rule})", Field: "pipeline")]);
        }

        var runId = RunIdFor(pipelineName, blobName, etag);
        if (await runtime.Client.GetInstanceAsync(runId, cancellation: cancellation).ConfigureAwait(false) is not null)
        {
            return null;
        }

        var pipeline = runtime.FindPipeline(pipelineName)
            ?? throw new PipelineValidationException([new PipelineError($"no pipeline '{pipelineName}' in {runtime.Options.PipelinesFolder}")]);
        await runtime.StartAsync(pipeline, new RunRequest { RunId = runId, DataBlob = blobName, Trigger = $"blob:{blobName}@{etag}", Source = ParameterSource.Request }, cancellation).ConfigureAwait(false);
        return runId;
    }

    /// <summary>Processes every new, settled blob version under the prefix once; returns the run ids started.</summary>
    public async Task<IReadOnlyList<string>> ScanOnceAsync(CancellationToken cancellation = default)
    {
        var prefix = runtime.Options.BlobTrigger.Prefix;
        var settle = runtime.Options.BlobTrigger.SettleInterval
            ?? (runtime.Options.ArtifactStore.Type == ArtifactStoreOptions.AzureBlob ? TimeSpan.Zero : TimeSpan.FromSeconds(2));
        var blobs = new List<BlobItemProperties>();
        await foreach (var blob in runtime.Blobs.ListAsync(prefix, cancellation).ConfigureAwait(false))
        {
            blobs.Add(blob);
        }

        var now = runtime.Time.GetUtcNow();
        var listed = new HashSet<string>(blobs.Select(b => b.Name), StringComparer.Ordinal);
        foreach (var gone in unsettled.Keys.Where(k => !listed.Contains(k)).ToList())
        {
            unsettled.Remove(gone);
        }

        var started = new List<string>();
        foreach (var blob in blobs)
        {
            var parts = blob.Name[prefix.Length..].Split('/');
            if (parts.Length < 2 || parts[^1].StartsWith('_') || parts[^1].EndsWith(".partial", StringComparison.Ordinal))
            {
                continue;
            }

            if (settle > TimeSpan.Zero)
            {
                if (!unsettled.TryGetValue(blob.Name, out var seen) || seen.ETag != blob.ETag)
                {
                    unsettled[blob.Name] = (blob.ETag, now);
                    continue;
                }

                if (now - seen.Since < settle)
                {
                    continue;
                }
            }

            try
            {
                if (await ProcessAsync(blob, parts[0], cancellation).ConfigureAwait(false) is { } runId)
                {
                    started.Add(runId);
                }

                unsettled.Remove(blob.Name);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellation.IsCancellationRequested)
            {
                // Not this blob's fault (storage, the durable store): retried at the next scan; the others go on now.
                logger.LogWarning(e, "blob {Blob} could not be processed now; retrying at the next scan", ErrorText.Quote(blob.Name));
            }
        }

        return started;
    }

    // Starts the run of one settled version (or records why not); returns the run id when it started one.
    private async Task<string?> ProcessAsync(BlobItemProperties blob, string pipelineName, CancellationToken cancellation)
    {
        var receipt = ReceiptName(blob.Name, blob.ETag);
        if (await runtime.Blobs.GetPropertiesAsync(receipt, cancellation).ConfigureAwait(false) is not null)
        {
            return null;
        }

        var runId = Names.IsValid(pipelineName) ? RunIdFor(pipelineName, blob.Name, blob.ETag) : null;
        string? error = null;
        string? startedRun = null;
        try
        {
            startedRun = await StartRunAsync(runtime, pipelineName, blob.Name, blob.ETag, cancellation).ConfigureAwait(false);
            if (startedRun is not null)
            {
                logger.LogInformation("blob {Blob} (ETag {ETag}) started run {RunId}", blob.Name, blob.ETag, startedRun);
            }
        }
        catch (Exception e) when (e is PipelineValidationException or ArgumentException)
        {
            // This blob's own fault (its name, its pipeline, its parameters): a failed receipt, never retried.
            error = e.Message;
            logger.LogWarning("blob {Blob} did not start a run: {Error}", ErrorText.Quote(blob.Name), ErrorText.Quote(e.Message, 500));
        }

        var metadata = new Dictionary<string, string> { ["runid"] = runId ?? string.Empty, ["etag"] = PipelineRuntime.ShortHash(blob.ETag) };
        if (error is not null)
        {
            metadata["error"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(ErrorText.Quote(error, 2000)));
        }

        try
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new { name = blob.Name, etag = blob.ETag, runId, error });
            using var content = new MemoryStream(body);
            await runtime.Blobs.UploadAsync(receipt, content, new BlobUploadOptions { IfNotExists = true, Metadata = metadata }, cancellation).ConfigureAwait(false);
        }
        catch (BlobConditionFailedException)
        {
            // Another scanner wrote it first: the run id was the same, so nothing ran twice.
        }

        return startedRun;
    }
}

using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.FunctionApp.Pipelines;
using Serverless.Pipelines;
using Serverless.Pipelines.Orchestration;
using Serverless.Storage;

namespace Serverless.FunctionApp.Triggers;

/// <summary>
/// The blob upload trigger: scans <c>{prefix}</c> every poll interval; a blob <c>{prefix}{pipeline}/{file}</c> starts one
/// run of <c>{pipeline}</c> with that file as its data, exactly once per blob version (ETag), across restarts.
/// </summary>
/// <remarks>
/// Like the Functions blob trigger, it keeps a receipt per processed version in storage
/// (<c>_receipts/blobtrigger/{etag hash}/{blob name}</c>). The run id is derived from the blob name and ETag, and a run is
/// started only if no instance with that id exists, so a crash between starting the run and writing the receipt cannot
/// start it twice. A blob whose pipeline is unknown or invalid gets a receipt with the error (in its metadata) and is not retried.
/// </remarks>
public sealed class BlobTriggerService(PipelineRuntime runtime, ILogger<BlobTriggerService> logger) : BackgroundService
{
    /// <summary>The prefix of receipts in the blob store.</summary>
    public const string ReceiptPrefix = "_receipts/blobtrigger/";

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

    /// <summary>Processes every new blob version under the prefix once; returns the run ids started.</summary>
    public async Task<IReadOnlyList<string>> ScanOnceAsync(CancellationToken cancellation = default)
    {
        var prefix = runtime.Options.BlobTrigger.Prefix;
        var blobs = new List<BlobItemProperties>();
        await foreach (var blob in runtime.Blobs.ListAsync(prefix, cancellation).ConfigureAwait(false))
        {
            blobs.Add(blob);
        }

        var started = new List<string>();
        foreach (var blob in blobs)
        {
            var parts = blob.Name[prefix.Length..].Split('/');
            if (parts.Length < 2 || parts[^1].StartsWith('_') || parts[^1].EndsWith(".partial", StringComparison.Ordinal))
            {
                continue;
            }

            var receipt = $"{ReceiptPrefix}{PipelineRuntime.ShortHash(blob.ETag)}/{blob.Name}";
            if (await runtime.Blobs.GetPropertiesAsync(receipt, cancellation).ConfigureAwait(false) is not null)
            {
                continue;
            }

            var pipelineName = parts[0];
            var runId = $"{pipelineName}-blob-{PipelineRuntime.ShortHash(blob.Name + "@" + blob.ETag)}";
            string? error = null;
            if (await runtime.Client.GetInstanceAsync(runId, cancellation: cancellation).ConfigureAwait(false) is null)
            {
                try
                {
                    var pipeline = runtime.FindPipeline(pipelineName)
                        ?? throw new PipelineValidationException([new PipelineError($"no pipeline '{pipelineName}' in {runtime.Options.PipelinesFolder}")]);
                    await runtime.StartAsync(pipeline, new RunRequest { RunId = runId, DataBlob = blob.Name, Trigger = $"blob:{blob.Name}@{blob.ETag}", Source = ParameterSource.Request }, cancellation).ConfigureAwait(false);
                    started.Add(runId);
                    logger.LogInformation("blob {Blob} (ETag {ETag}) started run {RunId}", blob.Name, blob.ETag, runId);
                }
                catch (PipelineValidationException e)
                {
                    error = e.Message;
                    logger.LogWarning("blob {Blob} did not start a run: {Error}", blob.Name, e.Message);
                }
            }

            var metadata = new Dictionary<string, string> { ["runid"] = runId, ["etag"] = blob.ETag };
            if (error is not null)
            {
                metadata["error"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(error));
            }

            try
            {
                using var body = new MemoryStream(Encoding.UTF8.GetBytes(runId));
                await runtime.Blobs.UploadAsync(receipt, body, new BlobUploadOptions { IfNotExists = true, Metadata = metadata }, cancellation).ConfigureAwait(false);
            }
            catch (BlobConditionFailedException)
            {
                // Another scanner wrote it first: the run id was the same, so nothing ran twice.
            }
        }

        return started;
    }
}

using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Serverless.Pipelines;
using Serverless.Pipelines.Hosting;
using Serverless.Pipelines.Hosting.Triggers;
using Serverless.Storage;

namespace Serverless.Functions;

/// <summary>
/// The blob and timer triggers: thin wrappers over the local triggers' logic (<see cref="BlobTriggerService.StartRunAsync"/>,
/// <see cref="TimerTriggerService.StartOccurrenceAsync"/>) and their run ids, so a redelivered blob event or a timer
/// occurrence fired twice finds its run instead of starting a second one.
/// </summary>
public sealed class TriggerFunctions
{
    /// <summary>The blob trigger's path: container <c>incoming</c>, a blob <c>{pipeline}/{name}</c> starts <c>{pipeline}</c>.</summary>
    public const string IncomingPath = "incoming/{pipeline}/{name}";

    private readonly PipelineRuntime runtime;
    private readonly DurableClientBinding clients;
    private readonly IConfiguration settings;
    private readonly ILogger<TriggerFunctions> logger;

    /// <summary>Created by the Functions worker with the app's services.</summary>
    public TriggerFunctions(PipelineRuntime runtime, DurableClientBinding clients, IConfiguration settings, ILogger<TriggerFunctions> logger)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(logger);
        this.runtime = runtime;
        this.clients = clients;
        this.settings = settings;
        this.logger = logger;
    }

    /// <summary>
    /// A blob <c>incoming/{pipeline}/{name}</c> starts one run of <c>{pipeline}</c> per blob version. Event Grid source: the
    /// only blob trigger Flex Consumption runs (infra/main.bicep subscribes it to <c>BlobCreated</c> under <c>incoming/</c>).
    /// </summary>
    [Function("StartRunOnBlob")]
    public Task StartRunOnBlob(
        [BlobTrigger(IncomingPath, Source = BlobTriggerSource.EventGrid, Connection = PipelineFunctionsSetup.StorageConnection)] byte[] content,
        string pipeline,
        string name,
        FunctionContext context,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(context);
        var etag = ETagOf(context.BindingContext.BindingData) ?? ContentTag(content);
        return StartFromBlobAsync(pipeline, name, etag, content, client, context.CancellationToken);
    }

    /// <summary>
    /// Starts the run of one blob version: the run id is <see cref="BlobTriggerService.RunIdFor"/> of the blob's name in the
    /// artifact store (<c>{blob trigger prefix}{pipeline}/{name}</c>, <c>incoming/...</c> by default, as the local trigger
    /// names it) and <paramref name="etag"/>. A version whose run exists starts nothing and copies nothing. Otherwise the
    /// content is copied to that name in the artifact store (where the run reads its data and a timer's
    /// <c>useLatestData</c> finds the newest), and the run starts. A blob's own fault (no such pipeline, bad data) is logged
    /// and not retried; anything else throws, so the host retries.
    /// </summary>
    /// <returns>The run id when this call started it; null when it existed or the blob cannot start one.</returns>
    public async Task<string?> StartFromBlobAsync(string pipeline, string name, string etag, byte[] content, DurableTaskClient client, CancellationToken cancellation = default)
    {
        clients.Use(client);
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(etag);
        ArgumentNullException.ThrowIfNull(content);
        var blobName = $"{runtime.Options.BlobTrigger.Prefix}{pipeline}/{name}";
        try
        {
            BlobNames.Validate(blobName);
            if (!Names.IsValid(pipeline))
            {
                throw new PipelineValidationException([new PipelineError($"{ErrorText.Quote(pipeline)} is not a pipeline name ({Names.Rule})", Field: "pipeline")]);
            }

            if (await runtime.Client.GetInstanceAsync(BlobTriggerService.RunIdFor(pipeline, blobName, etag), cancellation: cancellation).ConfigureAwait(false) is not null)
            {
                return null;
            }

            using (var copy = new MemoryStream(content, writable: false))
            {
                await runtime.Blobs.UploadAsync(blobName, copy, cancellation: cancellation).ConfigureAwait(false);
            }

            var runId = await BlobTriggerService.StartRunAsync(runtime, pipeline, blobName, etag, cancellation).ConfigureAwait(false);
            if (runId is not null)
            {
                logger.LogInformation("blob {Blob} (ETag {ETag}) started run {RunId}", blobName, etag, runId);
            }

            return runId;
        }
        catch (Exception e) when (e is PipelineValidationException or ArgumentException)
        {
            logger.LogWarning("blob {Blob} did not start a run: {Error}", ErrorText.Quote(blobName), ErrorText.Quote(e.Message, 500));
            return null;
        }
    }

    /// <summary>Retrains on the schedule of the <c>RetrainSchedule</c> app setting: one run of the <c>RetrainPipeline</c>
    /// setting's pipeline per occurrence, on the newest data under <c>incoming/{pipeline}/</c>.</summary>
    [Function("RetrainOnSchedule")]
    public Task RetrainOnSchedule(
        [TimerTrigger("%" + PipelineFunctionsSetup.RetrainScheduleSetting + "%")] TimerInfo timer,
        FunctionContext context,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(timer);
        ArgumentNullException.ThrowIfNull(context);
        return RetrainAsync(OccurrenceOf(timer, runtime.Time.GetUtcNow().UtcDateTime), client, context.CancellationToken);
    }

    /// <summary>
    /// Starts the retraining run of one occurrence (<see cref="TimerTriggerService.StartOccurrenceAsync"/>, run id
    /// <see cref="TimerTriggerService.RunIdFor"/>): an occurrence already started finds its run. A missing
    /// <c>RetrainPipeline</c> setting or an invalid pipeline is logged.
    /// </summary>
    /// <returns>The run id when this call started it; null otherwise.</returns>
    public async Task<string?> RetrainAsync(DateTime occurrence, DurableTaskClient client, CancellationToken cancellation = default)
    {
        clients.Use(client);
        if (settings[PipelineFunctionsSetup.RetrainPipelineSetting] is not { Length: > 0 } pipeline)
        {
            logger.LogError("the retraining timer fired but the app setting {Setting} (the pipeline to retrain) is not set", PipelineFunctionsSetup.RetrainPipelineSetting);
            return null;
        }

        var timer = new TimerTriggerOptions
        {
            Name = "retrain",
            Pipeline = pipeline,
            Schedule = settings[PipelineFunctionsSetup.RetrainScheduleSetting] ?? string.Empty,
            UseLatestData = true,
        };
        try
        {
            var runId = await TimerTriggerService.StartOccurrenceAsync(runtime, timer, occurrence, cancellation).ConfigureAwait(false);
            if (runId is not null)
            {
                logger.LogInformation("retraining occurrence {Occurrence:o} started run {RunId}", occurrence, runId);
            }

            return runId;
        }
        catch (PipelineValidationException e)
        {
            logger.LogWarning("retraining occurrence {Occurrence:o} did not start a run: {Error}", occurrence, e.Message);
            return null;
        }
    }

    /// <summary>
    /// The occurrence a timer invocation stands for: the schedule status' <c>Next</c> as the host hands it to the invocation
    /// (the occurrence due, also when past due), so a second invocation for it gets the same run id; without a status (a
    /// schedule not monitored) the invocation time to the minute.
    /// </summary>
    public static DateTime OccurrenceOf(TimerInfo timer, DateTime utcNow)
    {
        ArgumentNullException.ThrowIfNull(timer);
        if (timer.ScheduleStatus is { } status && status.Next != default && status.Next <= utcNow.AddMinutes(1))
        {
            return status.Next.Kind == DateTimeKind.Local ? status.Next.ToUniversalTime() : DateTime.SpecifyKind(status.Next, DateTimeKind.Utc);
        }

        return new DateTime(utcNow.Ticks - (utcNow.Ticks % TimeSpan.TicksPerMinute), DateTimeKind.Utc);
    }

    /// <summary>
    /// The ETag of the triggering blob version from the trigger's binding data (<c>Properties</c>, the blob's properties as
    /// JSON; the key's case does not matter); null when absent.
    /// </summary>
    public static string? ETagOf(IReadOnlyDictionary<string, object?> bindingData)
    {
        ArgumentNullException.ThrowIfNull(bindingData);
        if (!bindingData.TryGetValue("Properties", out var properties) || properties is null)
        {
            return null;
        }

        try
        {
            using var document = properties is JsonElement element ? JsonDocument.Parse(element.GetRawText()) : JsonDocument.Parse(properties.ToString() ?? "null");
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name.Equals("ETag", StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() is { Length: > 0 } etag)
                {
                    return etag;
                }
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    // Without an ETag in the binding data: the content's hash stands for the version (same bytes, same run).
    private static string ContentTag(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));
}

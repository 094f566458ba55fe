using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Pipelines;
using Serverless.Pipelines.Orchestration;
using Serverless.Storage;

namespace Serverless.Pipelines.Hosting.Triggers;

/// <summary>The stored state of one timer (blob <c>_schedules/{name}.json</c>), as the Functions timer trigger keeps it.</summary>
/// <param name="Name">The timer's name.</param>
/// <param name="Schedule">The NCRONTAB expression the state was computed for.</param>
/// <param name="Last">The last occurrence that started a run, if any.</param>
/// <param name="Next">The next occurrence due.</param>
/// <param name="LastRunId">The run the last occurrence started.</param>
/// <param name="LastUpdated">When this state was written.</param>
public sealed record ScheduleStatus(string Name, string Schedule, DateTime? Last, DateTime Next, string? LastRunId, DateTime LastUpdated);

/// <summary>
/// The timer trigger: each configured schedule starts its pipeline at every NCRONTAB occurrence. The schedule status
/// (last and next occurrence) is kept in the blob store, so after a restart a past-due occurrence fires once (not
/// skipped) and an occurrence already fired does not fire again: the run id is derived from the occurrence and a run is
/// started only if that id does not exist yet. With <c>useLatestData</c> the run reads the newest blob under
/// <c>{blob trigger prefix}{pipeline}/</c>.
/// </summary>
public sealed class TimerTriggerService(PipelineRuntime runtime, ILogger<TimerTriggerService> logger) : BackgroundService
{
    /// <summary>The prefix of schedule status blobs.</summary>
    public const string StatusPrefix = "_schedules/";

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await CheckOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "timer check failed");
            }

            try
            {
                await Task.Delay(runtime.Options.TimerPollInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Starts the runs of every due occurrence; returns their run ids.</summary>
    public async Task<IReadOnlyList<string>> CheckOnceAsync(CancellationToken cancellation = default)
    {
        var started = new List<string>();
        var now = runtime.Time.GetUtcNow().UtcDateTime;
        foreach (var timer in runtime.Options.Timers)
        {
            var schedule = NcrontabSchedule.Parse(timer.Schedule);
            var status = await GetStatusAsync(timer.Name, cancellation).ConfigureAwait(false);
            if (status is null || status.Schedule != timer.Schedule)
            {
                status = new ScheduleStatus(timer.Name, timer.Schedule, status?.Last, schedule.GetNextOccurrence(now) ?? DateTime.MaxValue, status?.LastRunId, now);
                await WriteStatusAsync(status, cancellation).ConfigureAwait(false);
            }

            if (now < status.Next)
            {
                continue;
            }

            var occurrence = status.Next;
            var runId = RunIdFor(timer.Pipeline, occurrence);
            try
            {
                if (await StartOccurrenceAsync(runtime, timer, occurrence, cancellation).ConfigureAwait(false) is not null)
                {
                    started.Add(runId);
                    logger.LogInformation("timer {Timer} occurrence {Occurrence:o} started run {RunId}", timer.Name, occurrence, runId);
                }
            }
            catch (PipelineValidationException e)
            {
                logger.LogWarning("timer {Timer} occurrence {Occurrence:o} did not start a run: {Error}", timer.Name, occurrence, e.Message);
            }

            // Past-due occurrences collapse into this one (as in Functions): the next is computed from now.
            var next = schedule.GetNextOccurrence(now > occurrence ? now : occurrence) ?? DateTime.MaxValue;
            await WriteStatusAsync(new ScheduleStatus(timer.Name, timer.Schedule, occurrence, next, runId, now), cancellation).ConfigureAwait(false);
        }

        return started;
    }

    /// <summary>The run id of one occurrence, <c>{pipeline}-timer-{yyyyMMdd-HHmmss}</c>: an occurrence fired twice (a restart,
    /// a second instance, the Functions timer) finds its run. The Functions app's timer trigger uses it too.</summary>
    public static string RunIdFor(string pipeline, DateTime occurrence)
    {
        ArgumentException.ThrowIfNullOrEmpty(pipeline);
        return string.Create(CultureInfo.InvariantCulture, $"{pipeline}-timer-{occurrence:yyyyMMdd-HHmmss}");
    }

    /// <summary>
    /// Starts the run of one occurrence of <paramref name="timer"/> (<see cref="RunIdFor"/>; with
    /// <see cref="TimerTriggerOptions.UseLatestData"/> the newest blob under <c>{blob trigger prefix}{pipeline}/</c> as its
    /// data) unless an instance with that id exists; shared by this service and the Functions app's timer trigger.
    /// </summary>
    /// <returns>The run id when this call started the run; null when its run already existed.</returns>
    /// <exception cref="PipelineValidationException">No such pipeline, or it does not validate with its parameters.</exception>
    public static async Task<string?> StartOccurrenceAsync(PipelineRuntime runtime, TimerTriggerOptions timer, DateTime occurrence, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(timer);
        var runId = RunIdFor(timer.Pipeline, occurrence);
        if (await runtime.Client.GetInstanceAsync(runId, cancellation: cancellation).ConfigureAwait(false) is not null)
        {
            return null;
        }

        var pipeline = runtime.FindPipeline(timer.Pipeline)
            ?? throw new PipelineValidationException([new PipelineError($"no pipeline '{timer.Pipeline}' in {runtime.Options.PipelinesFolder}")]);
        var latest = timer.UseLatestData ? await LatestBlobAsync(runtime, timer.Pipeline, cancellation).ConfigureAwait(false) : null;
        await runtime.StartAsync(pipeline, new RunRequest
        {
            RunId = runId,
            Parameters = new Dictionary<string, string>(timer.Parameters),
            DataBlob = latest?.Name,
            Trigger = $"timer:{timer.Name}@{occurrence:o}",
            Source = ParameterSource.Operator,
        }, cancellation).ConfigureAwait(false);
        return runId;
    }

    /// <summary>Reads a timer's stored status, or null before its first check.</summary>
    public async Task<ScheduleStatus?> GetStatusAsync(string name, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        try
        {
            await using var stream = await runtime.Blobs.OpenReadAsync($"{StatusPrefix}{name}.json", cancellation).ConfigureAwait(false);
            return await JsonSerializer.DeserializeAsync<ScheduleStatus>(stream, cancellationToken: cancellation).ConfigureAwait(false);
        }
        catch (BlobNotFoundException)
        {
            return null;
        }
    }

    private async Task WriteStatusAsync(ScheduleStatus status, CancellationToken cancellation)
    {
        using var body = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(status));
        await runtime.Blobs.UploadAsync($"{StatusPrefix}{status.Name}.json", body, cancellation: cancellation).ConfigureAwait(false);
    }

    private static async Task<BlobItemProperties?> LatestBlobAsync(PipelineRuntime runtime, string pipeline, CancellationToken cancellation)
    {
        BlobItemProperties? latest = null;
        await foreach (var blob in runtime.Blobs.ListAsync($"{runtime.Options.BlobTrigger.Prefix}{pipeline}/", cancellation).ConfigureAwait(false))
        {
            var file = blob.Name.Split('/')[^1];
            if (file.StartsWith('_') || file.EndsWith(".partial", StringComparison.Ordinal) || !IsAddressable(blob.Name))
            {
                continue;
            }

            if (latest is null || blob.LastModified >= latest.LastModified)
            {
                latest = blob;
            }
        }

        return latest;
    }

    private static bool IsAddressable(string name)
    {
        try
        {
            BlobNames.Validate(name);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}

using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Hosting.Http;
using Serverless.Pipelines.Orchestration;

namespace Serverless.Pipelines.Hosting.GpuJobs;

/// <summary>
/// Builds a job's callback as Durable Functions builds an instance's <c>sendEventPostUri</c>:
/// <c>{base}/runtime/webhooks/durabletask/instances/{id}/raiseEvent/{eventName}?taskHub={hub}&amp;connection={connection}&amp;code={key}</c>,
/// so the trainer app raises events with a plain HTTP POST and works against an Azure Functions app unchanged.
/// </summary>
public sealed class TrainingJobCallbacks
{
    private readonly TrainerJobOptions options;
    private readonly string hub;
    private readonly string? connection;
    private readonly string? key;
    private readonly IServiceProvider services;

    /// <summary>Creates the builder.</summary>
    /// <param name="options">The job settings (<see cref="TrainerJobOptions.CallbackBaseUrl"/>).</param>
    /// <param name="hub">The task hub name.</param>
    /// <param name="connection">The connection name the management API serves (host.json's <c>connectionStringName</c>).</param>
    /// <param name="key">The management API's access key.</param>
    /// <param name="services">The app's services: without a configured base URL, the address the server listens on.</param>
    public TrainingJobCallbacks(TrainerJobOptions options, string hub, string? connection, string? key, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(hub);
        ArgumentNullException.ThrowIfNull(services);
        this.options = options;
        this.hub = hub;
        this.connection = connection;
        this.key = key;
        this.services = services;
    }

    /// <summary>The callback template of <paramref name="instanceId"/> (with <c>{eventName}</c> left in).</summary>
    /// <exception cref="InvalidOperationException">No base URL configured and no HTTP server address known.</exception>
    public string For(string instanceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        var baseUrl = (options.CallbackBaseUrl?.GetLeftPart(UriPartial.Path) ?? ServerAddress()).TrimEnd('/');
        var query = new StringBuilder("taskHub=").Append(Uri.EscapeDataString(hub));
        if (!string.IsNullOrEmpty(connection)) query.Append("&connection=").Append(Uri.EscapeDataString(connection));
        if (!string.IsNullOrEmpty(key)) query.Append("&code=").Append(Uri.EscapeDataString(key));
        return $"{baseUrl}{DurableHttpOptions.RoutePrefix}/instances/{Uri.EscapeDataString(instanceId)}/raiseEvent/{{eventName}}?{query}";
    }

    private string ServerAddress()
    {
        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses;
        var address = addresses?.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal) || a.StartsWith("https://", StringComparison.Ordinal));
        if (address is null)
        {
            throw new InvalidOperationException(
                "extensions.pipelines.trainerJobs.callbackBaseUrl is not set and this host serves no HTTP: set it to the function app's public URL (the trainer app raises the job's events there).");
        }

        // A wildcard listener (http://0.0.0.0:7071, http://[::]:7071, http://+:7071) is reached through loopback here.
        return address.Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://*", "://127.0.0.1", StringComparison.Ordinal);
    }
}

/// <summary>
/// Writes one attempt of a GPU job to the queue (<see cref="TrainingJobOrchestration.SubmitActivityName"/>), after deleting
/// the previous attempt's message when nobody leased it, and returns the message and the queue's length for the status.
/// </summary>
[DurableTask(TrainingJobOrchestration.SubmitActivityName)]
public sealed class SubmitTrainingJobActivity(TrainingJobQueue queue, TrainingJobCallbacks callbacks)
    : TaskActivity<TrainingJobRequest, TrainingJobSubmission>
{
    /// <inheritdoc />
    public override Task<TrainingJobSubmission> RunAsync(TaskActivityContext context, TrainingJobRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return SubmitAsync(queue, callbacks.For(input.InstanceId), input);
    }

    /// <summary>
    /// Submits one attempt with <paramref name="callback"/> as its event address (the local host builds it with
    /// <see cref="TrainingJobCallbacks"/>; an Azure Functions app takes the instance's <c>sendEventPostUri</c> from its
    /// durable client, which carries the host's system key).
    /// </summary>
    public static async Task<TrainingJobSubmission> SubmitAsync(TrainingJobQueue queue, string callback, TrainingJobRequest input)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentException.ThrowIfNullOrEmpty(callback);
        ArgumentNullException.ThrowIfNull(input);
        if (input.Previous is { } previous)
        {
            await queue.TryDeleteAsync(previous.MessageId, previous.PopReceipt).ConfigureAwait(false);
        }

        var message = new TrainingJobMessage
        {
            JobId = input.JobId,
            Attempt = input.Attempt,
            InstanceId = input.InstanceId,
            Events = input.Events,
            Callback = callback,
            Request = input.Request,
            CheckpointUri = TrainingJobMessage.CheckpointUriOf(queue.Options.CheckpointPrefix, input.Request),
            SubmittedAt = DateTimeOffset.UtcNow,
        };
        return await queue.SendAsync(message).ConfigureAwait(false);
    }
}

/// <summary>
/// The job queue's approximate length (<see cref="TrainingJobOrchestration.QueueLengthActivityName"/>), read again while a
/// run's job waits for a worker so that its "waiting for a GPU worker" line stays current. The input is the waiting job's
/// id (for the log; the length counts every job, leased ones included).
/// </summary>
[DurableTask(TrainingJobOrchestration.QueueLengthActivityName)]
public sealed class TrainingJobQueueLengthActivity(TrainingJobQueue queue) : TaskActivity<string, int>
{
    /// <inheritdoc />
    public override Task<int> RunAsync(TaskActivityContext context, string input) => queue.CountAsync();
}

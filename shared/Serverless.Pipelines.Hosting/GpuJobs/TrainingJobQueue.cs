using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Serverless.Hosting;
using Serverless.Pipelines.Orchestration;
using Serverless.Storage;

namespace Serverless.Pipelines.Hosting.GpuJobs;

/// <summary>
/// One job on the queue: everything the trainer app needs, with no Durable dependency. The callback is Durable Functions'
/// <c>sendEventPostUri</c> of the waiting instance, with <c>{eventName}</c> left for the worker to fill in with one of
/// <see cref="Events"/>; the event's body is a <see cref="TrainingJobEvent"/>.
/// </summary>
public sealed record TrainingJobMessage
{
    /// <summary>The job id (the node's execution id, the same for every attempt).</summary>
    public required string JobId { get; init; }

    /// <summary>The attempt (1, then 2, 3, ... after timeouts).</summary>
    public required int Attempt { get; init; }

    /// <summary>The instance waiting for the events (the run id).</summary>
    public required string InstanceId { get; init; }

    /// <summary>The event names the worker raises.</summary>
    public required TrainingJobEvents Events { get; init; }

    /// <summary><c>{base}/runtime/webhooks/durabletask/instances/{id}/raiseEvent/{eventName}?taskHub=..&amp;connection=..&amp;code=..</c></summary>
    public required string Callback { get; init; }

    /// <summary>The node to run: its inputs' artifact URIs and fingerprints, parameters, execution id.</summary>
    public required NodeRunRequest Request { get; init; }

    /// <summary>Where the job's checkpoints live in the artifact store (a blob prefix ending in <c>/</c>).</summary>
    public required string CheckpointUri { get; init; }

    /// <summary>When it was submitted (UTC).</summary>
    public DateTimeOffset SubmittedAt { get; init; }

    /// <summary>The callback for one event.</summary>
    public Uri CallbackFor(string eventName) => new(Callback.Replace("{eventName}", Uri.EscapeDataString(eventName), StringComparison.Ordinal));

    /// <summary>The checkpoint prefix of <paramref name="request"/> under <paramref name="prefix"/>.</summary>
    public static string CheckpointUriOf(string prefix, NodeRunRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return $"{prefix.Trim('/')}/{request.PipelineName}/{request.NodeId}/{request.ExecutionId}/";
    }
}

/// <summary>
/// The Azure Storage queue of GPU jobs (Azurite locally): the function app sends, the trainer app leases, renews and
/// deletes. Messages are JSON text (camelCase, as every durable payload here).
/// </summary>
public sealed class TrainingJobQueue
{
    private readonly QueueClient queue;
    private readonly SemaphoreSlim created = new(1, 1);
    private bool exists;

    /// <summary>
    /// The queue of <paramref name="options"/> on the storage account of its connection setting: a connection string, or
    /// keyless (<c>{name}__queueServiceUri</c> or <c>__accountName</c>, with a managed identity) as Azure Functions reads
    /// it (<see cref="StorageConnection"/>), which is how infra/main.bicep configures both apps.
    /// </summary>
    /// <param name="options">The job settings.</param>
    /// <param name="readAppSetting">Reads an app setting (environment variable) by name.</param>
    /// <param name="credential">The Entra ID credential of a keyless connection; null = from the settings.</param>
    /// <param name="clientOptions">The queue client's options (transport, retries); null = the SDK's defaults.</param>
    /// <exception cref="InvalidOperationException">The connection is not set or invalid; the message names the settings.</exception>
    public TrainingJobQueue(TrainerJobOptions options, Func<string, string?> readAppSetting, TokenCredential? credential = null, QueueClientOptions? clientOptions = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(readAppSetting);
        StorageConnection connection;
        try
        {
            connection = StorageConnection.Resolve(options.ConnectionStringName, readAppSetting, "queue", credential);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"extensions.pipelines.trainerJobs (its connectionStringName is '{options.ConnectionStringName}'): {e.Message}", e);
        }

        Options = options;
        queue = connection.ConnectionString is { } connectionString
            ? new QueueClient(connectionString, options.QueueName, clientOptions)
            : new QueueClient(connection.ResourceUri(options.QueueName), connection.Credential!, clientOptions);
    }

    /// <summary>The settings.</summary>
    public TrainerJobOptions Options { get; }

    /// <summary>The queue's name.</summary>
    public string Name => queue.Name;

    private async Task EnsureAsync(CancellationToken cancellation)
    {
        if (exists) return;
        await created.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            if (!exists)
            {
                await queue.CreateIfNotExistsAsync(cancellationToken: cancellation).ConfigureAwait(false);
                exists = true;
            }
        }
        finally
        {
            created.Release();
        }
    }

    /// <summary>Sends <paramref name="message"/>; returns its id and pop receipt and the queue's approximate length.</summary>
    public async Task<TrainingJobSubmission> SendAsync(TrainingJobMessage message, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        await EnsureAsync(cancellation).ConfigureAwait(false);
        var receipt = (await queue.SendMessageAsync(JsonSerializer.Serialize(message, DurableJson.Options), cancellation).ConfigureAwait(false)).Value;
        var length = (await queue.GetPropertiesAsync(cancellation).ConfigureAwait(false)).Value.ApproximateMessagesCount;
        return new TrainingJobSubmission(receipt.MessageId, receipt.PopReceipt, Math.Max(1, length));
    }

    /// <summary>Deletes a message nobody holds (best effort: a leased or already deleted message stays as it is).</summary>
    /// <returns>True when deleted.</returns>
    public async Task<bool> TryDeleteAsync(string messageId, string popReceipt, CancellationToken cancellation = default)
    {
        try
        {
            await queue.DeleteMessageAsync(messageId, popReceipt, cancellation).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 400)
        {
            return false; // leased since (the pop receipt changed) or gone
        }
    }

    /// <summary>Leases the next job for <paramref name="visibility"/>, or null when the queue is empty.</summary>
    public async Task<QueueMessage?> ReceiveAsync(TimeSpan visibility, CancellationToken cancellation = default)
    {
        await EnsureAsync(cancellation).ConfigureAwait(false);
        return (await queue.ReceiveMessageAsync(visibility, cancellation).ConfigureAwait(false)).Value;
    }

    /// <summary>Extends a lease; returns the new pop receipt.</summary>
    public async Task<string> RenewAsync(string messageId, string popReceipt, TimeSpan visibility, CancellationToken cancellation = default) =>
        (await queue.UpdateMessageAsync(messageId, popReceipt, messageText: null, visibilityTimeout: visibility, cancellationToken: cancellation).ConfigureAwait(false)).Value.PopReceipt;

    /// <summary>The queue's approximate message count (leased messages included).</summary>
    public async Task<int> CountAsync(CancellationToken cancellation = default)
    {
        await EnsureAsync(cancellation).ConfigureAwait(false);
        return (await queue.GetPropertiesAsync(cancellation).ConfigureAwait(false)).Value.ApproximateMessagesCount;
    }

    /// <summary>Reads a message's job.</summary>
    /// <exception cref="JsonException">Not a job.</exception>
    public static TrainingJobMessage Parse(QueueMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return JsonSerializer.Deserialize<TrainingJobMessage>(message.Body.ToString(), DurableJson.Options)
            ?? throw new JsonException($"queue message {message.MessageId} is empty");
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Durable.Backend;
using Serverless.Durable.History;
using Serverless.Storage.Blobs;
using Serverless.Storage.Blobs.Models;
using Serverless.Storage.Queues;
using Serverless.Storage.Queues.Models;

namespace Serverless.Durable.AzureStorage;

/// <summary>
/// The engine's backend on Azure Storage (or Azurite), after the Durable Task Framework's Azure Storage provider:
/// orchestration messages travel on N control queues chosen by a stable hash of the instance id, each owned by one
/// worker through a blob lease; activities travel on one work-item queue per worker pool; history and instance state
/// are blobs written with ETag conditions. See README.md for the layout, the write order of a turn and why a crash
/// between writes is repaired, message dedupe and limits.
/// </summary>
public sealed partial class AzureStorageOrchestrationBackend : IOrchestrationBackend
{
    private const int MaxConsumedIds = 2000;
    private static readonly TimeSpan MaxVisibility = TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1);

    private readonly AzureStorageBackendOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _hub;
    private readonly BlobContainerClient _instances;
    private readonly BlobContainerClient _history;
    private readonly BlobContainerClient _leases;
    private readonly QueueServiceClient _queueService;
    private readonly ConcurrentDictionary<string, QueueClient> _workItemQueues = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _createdQueues = new(StringComparer.Ordinal);
    private readonly WorkSignal _orchestrationSignal = new();
    private readonly WorkSignal _activitySignal = new();
    private readonly SemaphoreSlim _initLock = new(1, 1);
    private QueueClient[] _control = [];
    private int _partitionCount;
    private bool _initialized;
    private PartitionManager? _partitions;
    private Task? _partitionsStarting;

    // Orchestration messages received from owned partitions, by message id (so redeliveries update the pop receipt).
    private readonly Lock _bufferLock = new();
    private readonly Dictionary<string, MessageEntry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<MessageEntry>> _pending = new(StringComparer.Ordinal);
    private readonly List<MessageEntry> _timers = [];
    private readonly HashSet<string> _locked = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _notBefore = new(StringComparer.Ordinal);
    private long _arrival;

    // Partitions this process sent to since their last receive; all owned partitions are polled every FullFetchInterval.
    private static readonly TimeSpan FullFetchInterval = TimeSpan.FromMilliseconds(250);
    private readonly HashSet<int> _hot = [];
    private long _lastFullFetch;

    // Activities this process is running, by envelope id: a redelivery of one of them is not run a second time here.
    private readonly ConcurrentDictionary<string, ActivityLease> _runningActivities = new(StringComparer.Ordinal);

    // History documents of instances whose last turn this process committed completely (outbox sent, state written).
    private readonly ConcurrentDictionary<string, CachedDocument> _cache = new(StringComparer.Ordinal);

    /// <summary>Creates the backend (call <see cref="InitializeAsync"/> before use; the worker does).</summary>
    /// <param name="options">Connection, hub and partition settings.</param>
    /// <param name="timeProvider">The engine's clock: timers and delayed starts are due by it. Lease expiry uses the
    /// process's monotonic clock instead, because it is judged between processes.</param>
    /// <param name="logger">Receives lease changes and storage errors.</param>
    public AzureStorageOrchestrationBackend(AzureStorageBackendOptions options, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _hub = options.NormalizedHubName();
        // Short client-side retries: the worker's dispatch loops retry forever with their own backoff and log each
        // failed attempt, so an outage is visible in the logs instead of hidden inside one long HTTP retry chain.
        var blobOptions = new BlobClientOptions();
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        foreach (var o in new Azure.Core.ClientOptions[] { blobOptions, queueOptions })
        {
            o.Retry.MaxRetries = 3;
            o.Retry.Delay = TimeSpan.FromMilliseconds(200);
            o.Retry.MaxDelay = TimeSpan.FromSeconds(2);
            o.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        }
        var blobs = new BlobServiceClient(options.ConnectionString, blobOptions);
        _queueService = new QueueServiceClient(options.ConnectionString, queueOptions);
        _instances = blobs.GetBlobContainerClient(Names.Instances(_hub));
        _history = blobs.GetBlobContainerClient(Names.History(_hub));
        _leases = blobs.GetBlobContainerClient(Names.Leases(_hub));
    }

    /// <summary>The normalised (lower-case) task hub name.</summary>
    public string TaskHubName => _hub;

    /// <summary>The number of control-queue partitions of the hub (known after <see cref="InitializeAsync"/>).</summary>
    public int PartitionCount => _partitionCount;

    /// <summary>Partitions this backend instance currently owns (empty until it dispatches orchestrations).</summary>
    public IReadOnlyList<int> OwnedPartitions => _partitions?.Owned ?? [];

    private DateTime Now => _time.GetUtcNow().UtcDateTime;

    private sealed record CachedDocument(ETag ETag, HistoryDocument Document);

    private sealed class MessageEntry
    {
        public required string QueueMessageId { get; init; }
        public required string PopReceipt { get; set; }
        public required int Partition { get; init; }
        public required ControlEnvelope Envelope { get; init; }
        public required HistoryEvent Event { get; init; }
        public long Arrival { get; set; }
        public string Instance => Envelope.Instance;
        /// <summary>The results of a batched message (each with its own dedupe id); null for a single-event message.</summary>
        public IReadOnlyList<(string Id, HistoryEvent Event)>? Batch { get; init; }
        /// <summary>The events of this message not consumed before, set while the instance is being prepared.</summary>
        public List<HistoryEvent> FreshEvents { get; set; } = [];
        public IEnumerable<(string Id, HistoryEvent Event)> Items => Batch ?? [(Envelope.Id, Event)];
    }

    /// <summary>An activity result handed straight to its instance's next turn (no result message): its work item is
    /// deleted once the turn that records the result has committed.</summary>
    private sealed record LocalResult(ActivityLease Lease, HistoryEvent Result, string Id);

    private sealed class TurnLease
    {
        public required List<MessageEntry> Entries { get; init; }
        public HistoryDocument? Document { get; init; }
        public ETag? ETag { get; init; }
        public bool Reset { get; init; }
        public List<LocalResult> LocalResults { get; init; } = [];
    }

    private sealed class ActivityLease
    {
        public required QueueClient Queue { get; init; }
        public required string MessageId { get; init; }
        public required string PopReceipt { get; set; }
        public required ActivityEnvelope Envelope { get; init; }
    }

    // ---------------- set-up ----------------

    /// <inheritdoc/>
    /// <remarks>Creates the hub's containers and control queues if missing (so a fresh account or Azurite works
    /// with no set-up) and records the partition count in <c>{hub}-leases/taskhub.json</c>; an existing hub keeps
    /// its count. Work-item queues are created on first use of their pool.</remarks>
    public async Task InitializeAsync(CancellationToken cancellation = default)
    {
        await _initLock.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            if (_initialized) return;
            await Task.WhenAll(_instances.CreateIfNotExistsAsync(cancellation: cancellation),
                _history.CreateIfNotExistsAsync(cancellation: cancellation),
                _leases.CreateIfNotExistsAsync(cancellation: cancellation)).ConfigureAwait(false);
            var hubBlob = _leases.GetBlobClient("taskhub.json");
            try
            {
                await hubBlob.UploadAsync(BinaryData.FromString(Json.Serialize(new HubInfo(_options.PartitionCount))),
                    new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellation).ConfigureAwait(false);
                _partitionCount = _options.PartitionCount;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                var existing = await hubBlob.DownloadContentAsync(cancellation).ConfigureAwait(false);
                _partitionCount = Json.Deserialize<HubInfo>(existing.Value.Content).PartitionCount;
            }
            _control = Enumerable.Range(0, _partitionCount).Select(p => _queueService.GetQueueClient(Names.Control(_hub, p))).ToArray();
            await Task.WhenAll(_control.Select(q => EnsureQueueAsync(q, cancellation))).ConfigureAwait(false);
            _initialized = true;
        }
        finally
        {
            _initLock.Release();
        }
    }

    private sealed record HubInfo(int PartitionCount);

    private Task EnsureQueueAsync(QueueClient queue, CancellationToken cancellation) =>
        _createdQueues.GetOrAdd(queue.Name, _ => queue.CreateIfNotExistsAsync(cancellation: CancellationToken.None)).WaitAsync(cancellation);

    private void CheckInitialized()
    {
        if (!_initialized) throw new InvalidOperationException("The Azure Storage backend is not initialized: call InitializeAsync first.");
    }

    /// <summary>Runs a storage call; when the queue or container was deleted behind our back, recreates it once
    /// and retries (documented: missing queues and containers are created on first use).</summary>
    private async Task<T> WithRecreateAsync<T>(Func<Task<T>> call, Func<Task> create)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode is "QueueNotFound" or "ContainerNotFound")
        {
            await create().ConfigureAwait(false);
            return await call().ConfigureAwait(false);
        }
    }

    private QueueClient WorkItemQueue(string pool) => _workItemQueues.GetOrAdd(pool, p => _queueService.GetQueueClient(Names.WorkItems(_hub, p)));

    // ---------------- blobs ----------------

    private async Task<(HistoryDocument? Doc, ETag? ETag)> ReadHistoryAsync(string instanceId, CancellationToken cancellation)
    {
        try
        {
            var r = await _history.GetBlobClient(Names.HistoryBlob(instanceId)).DownloadContentAsync(cancellation).ConfigureAwait(false);
            return (Json.Deserialize<HistoryDocument>(r.Value.Content), r.Value.Details.ETag);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return (null, null);
        }
    }

    private async Task<(StateDocument? State, ETag? ETag)> ReadStateAsync(string instanceId, CancellationToken cancellation)
    {
        try
        {
            var r = await _instances.GetBlobClient(Names.Blob(instanceId)).DownloadContentAsync(cancellation).ConfigureAwait(false);
            return (Json.Deserialize<StateDocument>(r.Value.Content), r.Value.Details.ETag);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return (null, null);
        }
    }

    private static Dictionary<string, string> StateMetadata(StateDocument s) => new()
    {
        ["status"] = ((int)s.Status).ToString(CultureInfo.InvariantCulture),
        ["created"] = s.CreatedAt.Ticks.ToString(CultureInfo.InvariantCulture),
    };

    private Task WriteStateAsync(string instanceId, StateDocument state, BlobRequestConditions? conditions, CancellationToken cancellation) =>
        WithRecreateAsync(() => _instances.GetBlobClient(Names.Blob(instanceId)).UploadAsync(BinaryData.FromString(Json.Serialize(state)),
                new BlobUploadOptions { Metadata = StateMetadata(state), Conditions = conditions }, cancellation),
            () => _instances.CreateIfNotExistsAsync(cancellation: cancellation));

    private static StateDocument Project(HistoryDocument d) => new()
    {
        Version = d.Version, Name = d.Name, ExecutionId = d.ExecutionId, Status = d.Status, CreatedAt = d.CreatedAt, UpdatedAt = d.UpdatedAt,
        Input = d.Input, Output = d.Output, CustomStatus = d.CustomStatus, Failure = d.Failure, ParentInstanceId = d.ParentInstanceId,
    };

    private static OrchestrationState ToState(string instanceId, StateDocument s, bool withData) => new()
    {
        InstanceId = instanceId, Name = s.Name, ExecutionId = s.ExecutionId, Status = s.Status, CreatedAt = s.CreatedAt, LastUpdatedAt = s.UpdatedAt,
        Input = withData ? s.Input : null, Output = withData ? s.Output : null, CustomStatus = s.CustomStatus, FailureDetails = s.Failure,
        ParentInstanceId = s.ParentInstanceId,
    };

    // ---------------- queues ----------------

    private async Task<string> ResolveEventAsync(string? inline, string? blob, CancellationToken cancellation)
    {
        if (inline != null) return inline;
        if (blob == null) throw new InvalidDataException("A queue message has neither an event nor a payload blob.");
        var r = await _history.GetBlobClient(blob).DownloadContentAsync(cancellation).ConfigureAwait(false);
        return r.Value.Content.ToString();
    }

    /// <summary>Serializes an envelope, offloading its event to a blob (named after the message id, so a re-send
    /// overwrites the same blob) when the message would exceed the queue's size limit.</summary>
    private async Task<string> PackAsync(string instanceId, string id, Func<string> serialize, Func<string?> getEvent, Action<string?, string?> set, CancellationToken cancellation)
    {
        var text = serialize();
        if (System.Text.Encoding.UTF8.GetByteCount(text) <= _options.MaxMessageBytes) return text;
        var blob = Names.MessageBlob(instanceId, id);
        var body = getEvent() ?? throw new InvalidOperationException("Envelope too large without an event.");
        await WithRecreateAsync(() => _history.GetBlobClient(blob).UploadAsync(BinaryData.FromString(body), overwrite: true, cancellation),
            () => _history.CreateIfNotExistsAsync(cancellation: cancellation)).ConfigureAwait(false);
        set(null, blob);
        try { return serialize(); }
        finally { set(body, null); } // keep the outbox copy self-contained
    }

    private async Task SendControlAsync(ControlEnvelope env, CancellationToken cancellation)
    {
        var text = await PackAsync(env.Instance, env.Id, () => Json.Serialize(env), () => env.Event, (e, b) => { env.Event = e; env.Blob = b; }, cancellation).ConfigureAwait(false);
        var partition = Names.Partition(env.Instance, _partitionCount);
        var queue = _control[partition];
        await WithRecreateAsync(() => queue.SendMessageAsync(text, null, TimeSpan.FromSeconds(-1), cancellation),
            () => queue.CreateIfNotExistsAsync(cancellation: cancellation)).ConfigureAwait(false);
        MarkHot(partition);
    }

    private async Task<Response<SendReceipt>> SendActivityAsync(string pool, ActivityEnvelope env, TimeSpan? invisibleFor, CancellationToken cancellation)
    {
        var text = await PackAsync(env.Instance, env.Id, () => Json.Serialize(env), () => env.Event, (e, b) => { env.Event = e; env.Blob = b; }, cancellation).ConfigureAwait(false);
        var queue = WorkItemQueue(pool);
        await EnsureQueueAsync(queue, cancellation).ConfigureAwait(false);
        return await WithRecreateAsync(() => queue.SendMessageAsync(text, invisibleFor, TimeSpan.FromSeconds(-1), cancellation),
            () => queue.CreateIfNotExistsAsync(cancellation: cancellation)).ConfigureAwait(false);
    }

    private static async Task DeleteQuietlyAsync(QueueClient queue, string messageId, string popReceipt, CancellationToken cancellation)
    {
        try
        {
            await queue.DeleteMessageAsync(messageId, popReceipt, cancellation).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 400)
        {
            // Gone already, or received again since (stale pop receipt): the redelivered copy is dropped as a duplicate.
        }
    }

    /// <inheritdoc/>
    public WorkSignal GetWorkSignal(WorkKind kind) => kind == WorkKind.Orchestration ? _orchestrationSignal : _activitySignal;
}

using System.Runtime.CompilerServices;
using Serverless.Durable.Backend;
using Serverless.Durable.History;

namespace Serverless.Durable;

/// <summary>Options for starting an orchestration: a chosen instance id and a delayed start, as in Microsoft.DurableTask.</summary>
/// <param name="InstanceId">The instance id; default a new GUID.</param>
/// <param name="StartAt">When to start; default now.</param>
public sealed record StartOrchestrationOptions(string? InstanceId = null, DateTimeOffset? StartAt = null);

/// <summary>Thrown when a client operation names an instance that does not exist.</summary>
public sealed class InstanceNotFoundException(string instanceId)
    : InvalidOperationException($"Orchestration instance '{instanceId}' does not exist.")
{
    /// <summary>The missing instance id.</summary>
    public string InstanceId { get; } = instanceId;
}

/// <summary>The result of a purge.</summary>
/// <param name="PurgedInstanceCount">How many instances were deleted.</param>
public sealed record PurgeResult(int PurgedInstanceCount);

/// <summary>An instance's state as a client sees it (Microsoft.DurableTask's <c>OrchestrationMetadata</c>).</summary>
public sealed class OrchestrationMetadata
{
    private readonly DataConverter _converter;

    internal OrchestrationMetadata(OrchestrationState state, DataConverter converter, bool withData)
    {
        _converter = converter;
        Name = state.Name;
        InstanceId = state.InstanceId;
        RuntimeStatus = state.Status;
        CreatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.CreatedAt, DateTimeKind.Utc));
        LastUpdatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.LastUpdatedAt, DateTimeKind.Utc));
        SerializedInput = withData ? state.Input : null;
        SerializedOutput = withData ? state.Output : null;
        SerializedCustomStatus = state.CustomStatus;
        FailureDetails = state.FailureDetails;
        ParentInstanceId = state.ParentInstanceId;
    }

    /// <summary>Orchestrator name.</summary>
    public string Name { get; }
    /// <summary>Instance id.</summary>
    public string InstanceId { get; }
    /// <summary>Status.</summary>
    public OrchestrationRuntimeStatus RuntimeStatus { get; }
    /// <summary>Created.</summary>
    public DateTimeOffset CreatedAt { get; }
    /// <summary>Last updated.</summary>
    public DateTimeOffset LastUpdatedAt { get; }
    /// <summary>Serialized input (when asked for).</summary>
    public string? SerializedInput { get; }
    /// <summary>Serialized output (when asked for).</summary>
    public string? SerializedOutput { get; }
    /// <summary>Serialized custom status.</summary>
    public string? SerializedCustomStatus { get; }
    /// <summary>Failure details of a failed instance.</summary>
    public TaskFailureDetails? FailureDetails { get; }
    /// <summary>Parent instance id of a sub-orchestration.</summary>
    public string? ParentInstanceId { get; }
    /// <summary>True while running, pending or suspended.</summary>
    public bool IsRunning => !IsCompleted;
    /// <summary>True once finished (completed, failed, terminated).</summary>
    public bool IsCompleted => RuntimeStatus.IsTerminal();

    /// <summary>Deserializes the input.</summary>
    public T? ReadInputAs<T>() => _converter.Deserialize<T>(SerializedInput);
    /// <summary>Deserializes the output.</summary>
    public T? ReadOutputAs<T>() => _converter.Deserialize<T>(SerializedOutput);
    /// <summary>Deserializes the custom status.</summary>
    public T? ReadCustomStatusAs<T>() => _converter.Deserialize<T>(SerializedCustomStatus);
}

/// <summary>A page of results.</summary>
/// <typeparam name="T">Item type.</typeparam>
/// <param name="Values">The items.</param>
/// <param name="ContinuationToken">Token of the next page, or null.</param>
public sealed record Page<T>(IReadOnlyList<T> Values, string? ContinuationToken);

/// <summary>An asynchronous sequence fetched page by page (the shape of Azure.Core's and Microsoft.DurableTask's <c>AsyncPageable</c>).</summary>
/// <typeparam name="T">Item type.</typeparam>
public sealed class AsyncPageable<T> : IAsyncEnumerable<T> where T : notnull
{
    private readonly Func<string?, int?, CancellationToken, Task<Page<T>>> _fetch;

    internal AsyncPageable(Func<string?, int?, CancellationToken, Task<Page<T>>> fetch) => _fetch = fetch;

    /// <summary>Enumerates pages starting at <paramref name="continuationToken"/>.</summary>
    public async IAsyncEnumerable<Page<T>> AsPages(string? continuationToken = null, int? pageSizeHint = null,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var token = continuationToken;
        do
        {
            var page = await _fetch(token, pageSizeHint, cancellation).ConfigureAwait(false);
            yield return page;
            token = page.ContinuationToken;
        }
        while (token != null);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        await foreach (var page in AsPages(cancellation: cancellationToken).ConfigureAwait(false))
        {
            foreach (var v in page.Values) yield return v;
        }
    }
}

/// <summary>
/// Starts and manages orchestration instances: the API of Microsoft.DurableTask's <c>DurableTaskClient</c>,
/// so client code ports to Durable Functions by swapping a using.
/// </summary>
public class DurableTaskClient
{
    private readonly IOrchestrationBackend _backend;
    private readonly DataConverter _converter;
    private readonly TimeProvider _time;

    /// <summary>Creates a client over a backend.</summary>
    public DurableTaskClient(IOrchestrationBackend backend, DataConverter? converter = null, TimeProvider? timeProvider = null, string name = "default")
    {
        ArgumentNullException.ThrowIfNull(backend);
        _backend = backend;
        _converter = converter ?? JsonDataConverter.Default;
        _time = timeProvider ?? TimeProvider.System;
        Name = name;
    }

    /// <summary>The client's name (the task hub).</summary>
    public string Name { get; }

    /// <summary>The backend, for hosts that need lower-level access (history, heartbeats).</summary>
    public IOrchestrationBackend Backend => _backend;

    /// <summary>The serializer used for inputs and outputs.</summary>
    public DataConverter DataConverter => _converter;

    /// <summary>Schedules a new instance and returns its id.</summary>
    public virtual async Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input = null,
        StartOrchestrationOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(orchestratorName.Name, nameof(orchestratorName));
        var instanceId = options?.InstanceId ?? Guid.NewGuid().ToString("N");
        if (string.IsNullOrWhiteSpace(instanceId) || instanceId.Any(char.IsControl) || instanceId.Contains('/', StringComparison.Ordinal))
            throw new ArgumentException($"Instance id '{instanceId}' is not valid: it must be non-empty and contain no '/' or control characters.", nameof(options));
        var started = new ExecutionStartedEvent
        {
            Name = orchestratorName.Name,
            InstanceId = instanceId,
            ExecutionId = Guid.NewGuid().ToString("N"),
            Input = _converter.Serialize(input),
            ScheduledStartTime = options?.StartAt?.UtcDateTime,
            Timestamp = _time.GetUtcNow().UtcDateTime,
        };
        await _backend.CreateInstanceAsync(started, cancellation).ConfigureAwait(false);
        return instanceId;
    }

    /// <summary>Gets an instance's metadata, or null if it does not exist.</summary>
    public virtual async Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        var state = await _backend.GetStateAsync(instanceId, cancellation).ConfigureAwait(false);
        return state is null ? null : new OrchestrationMetadata(state, _converter, getInputsAndOutputs);
    }

    /// <summary>Gets an instance's history (current execution).</summary>
    public virtual Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellation = default) =>
        _backend.GetHistoryAsync(instanceId, cancellation);

    /// <summary>Waits until the instance has started (is no longer pending).</summary>
    public virtual Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        PollAsync(instanceId, getInputsAndOutputs, m => m.RuntimeStatus != OrchestrationRuntimeStatus.Pending, cancellation);

    /// <summary>Waits until the instance finishes (completed, failed or terminated).</summary>
    public virtual Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        PollAsync(instanceId, getInputsAndOutputs, m => m.IsCompleted, cancellation);

    private async Task<OrchestrationMetadata> PollAsync(string instanceId, bool withData, Func<OrchestrationMetadata, bool> done, CancellationToken cancellation)
    {
        var delay = TimeSpan.FromMilliseconds(2);
        while (true)
        {
            var m = await GetInstanceAsync(instanceId, withData, cancellation).ConfigureAwait(false)
                ?? throw new InstanceNotFoundException(instanceId);
            if (done(m)) return m;
            await Task.Delay(delay, cancellation).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 200));
        }
    }

    /// <summary>Raises an external event. Throws if the instance does not exist.</summary>
    public virtual async Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        await SendAsync(instanceId, new EventRaisedEvent { Name = eventName, Input = _converter.Serialize(eventPayload) }, cancellation).ConfigureAwait(false);
    }

    /// <summary>Terminates a running instance; its output becomes <paramref name="output"/>.</summary>
    public virtual Task TerminateInstanceAsync(string instanceId, object? output = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new ExecutionTerminatedEvent { Input = _converter.Serialize(output) }, cancellation);

    /// <summary>Suspends an instance: events are held until it is resumed.</summary>
    public virtual Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new ExecutionSuspendedEvent { Reason = reason }, cancellation);

    /// <summary>Resumes a suspended instance.</summary>
    public virtual Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new ExecutionResumedEvent { Reason = reason }, cancellation);

    private async Task SendAsync(string instanceId, HistoryEvent e, CancellationToken cancellation)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        var stamped = e with { Timestamp = _time.GetUtcNow().UtcDateTime };
        if (!await _backend.SendMessageAsync(new OrchestrationMessage(instanceId, stamped), cancellation).ConfigureAwait(false))
            throw new InstanceNotFoundException(instanceId);
    }

    /// <summary>Deletes a finished instance and its history.</summary>
    public virtual async Task<PurgeResult> PurgeInstanceAsync(string instanceId, CancellationToken cancellation = default) =>
        new(await _backend.PurgeAsync(instanceId, cancellation).ConfigureAwait(false));

    /// <summary>Deletes finished instances matching a filter.</summary>
    public virtual async Task<PurgeResult> PurgeAllInstancesAsync(PurgeFilter filter, CancellationToken cancellation = default) =>
        new(await _backend.PurgeAsync(filter, cancellation).ConfigureAwait(false));

    /// <summary>Queries instances; enumerate it, or use <see cref="AsyncPageable{T}.AsPages"/> for paging.</summary>
    public virtual AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null)
    {
        var q = filter ?? new OrchestrationQuery();
        return new AsyncPageable<OrchestrationMetadata>(async (token, size, ct) =>
        {
            var page = await _backend.QueryAsync(q with { ContinuationToken = token ?? q.ContinuationToken, PageSize = size ?? q.PageSize }, ct).ConfigureAwait(false);
            return new Page<OrchestrationMetadata>(page.Instances.Select(s => new OrchestrationMetadata(s, _converter, q.FetchInputsAndOutputs)).ToList(), page.ContinuationToken);
        });
    }

    /// <summary>Gets one page of instances.</summary>
    public virtual async Task<Page<OrchestrationMetadata>> QueryInstancesAsync(OrchestrationQuery query, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var page = await _backend.QueryAsync(query, cancellation).ConfigureAwait(false);
        return new Page<OrchestrationMetadata>(page.Instances.Select(s => new OrchestrationMetadata(s, _converter, query.FetchInputsAndOutputs)).ToList(), page.ContinuationToken);
    }
}

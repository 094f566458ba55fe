using System.Diagnostics;
using System.Globalization;
using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Query;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Core = DurableTask.Core;
using CoreQuery = DurableTask.Core.Query.OrchestrationQuery;

namespace Serverless.Hosting.Client;

/// <summary>
/// The SDK's <see cref="DurableTaskClient"/> over DTFx's client interfaces: <see cref="IOrchestrationServiceClient"/>
/// for starting, messaging and reading instances, <see cref="IOrchestrationServiceQueryClient"/> for queries and
/// <see cref="IOrchestrationServicePurgeClient"/> for purges. Any DTFx provider that implements them plugs in; the
/// HTTP API, CLI, triggers and tests all speak this one client. Inputs and outputs are serialized with the SDK's
/// <see cref="DataConverter"/>, as the worker's shims expect.
/// </summary>
/// <remarks>
/// Semantics beyond the SDK's documentation: starting an id whose instance is Pending, Running or Suspended throws
/// DTFx's <c>OrchestrationAlreadyExistsException</c> (a finished one is replaced); raising, terminating, suspending
/// or resuming an unknown id throws <see cref="InstanceNotFoundException"/>; purges never remove an unfinished
/// instance (purging one returns 0). Waits poll the status with a doubling interval
/// (<see cref="DurableTaskFrameworkClientOptions.MinWaitPollingInterval"/> up to <see cref="DurableTaskFrameworkClientOptions.MaxWaitPollingInterval"/>).
/// </remarks>
public sealed class DurableTaskFrameworkClient : DurableTaskClient
{
    private static readonly Core.OrchestrationStatus[] Unfinished =
        [Core.OrchestrationStatus.Pending, Core.OrchestrationStatus.Running, Core.OrchestrationStatus.Suspended];

    private static readonly Core.OrchestrationStatus[] Finished =
        [Core.OrchestrationStatus.Completed, Core.OrchestrationStatus.Failed, Core.OrchestrationStatus.Terminated, Core.OrchestrationStatus.Canceled];

    // Azure Table Storage's earliest date: a purge without CreatedFrom starts here.
    private static readonly DateTime EarliestCreated = new(1601, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private readonly IOrchestrationServiceClient _client;
    private readonly DurableTaskFrameworkClientOptions _options;

    /// <summary>Creates a client of the task hub <paramref name="name"/> over a provider's client.</summary>
    /// <param name="name">The task hub name (<see cref="DurableTaskClient.Name"/>).</param>
    /// <param name="client">The provider's client; queries and purges need it to implement DTFx's query and purge clients.</param>
    /// <param name="options">Serialization and wait settings; default <see cref="DurableTaskFrameworkClientOptions"/>.</param>
    public DurableTaskFrameworkClient(string name, IOrchestrationServiceClient client, DurableTaskFrameworkClientOptions? options = null)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _options = options ?? new DurableTaskFrameworkClientOptions();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.MinWaitPollingInterval, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxWaitPollingInterval, _options.MinWaitPollingInterval, nameof(options));
    }

    private DataConverter Converter => _options.DataConverter;

    /// <inheritdoc/>
    public override async Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input = null,
        StartOrchestrationOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(orchestratorName.Name, nameof(orchestratorName));
        cancellation.ThrowIfCancellationRequested();
        var instanceId = options?.InstanceId is { Length: > 0 } id ? id : Guid.NewGuid().ToString("N");
        var dedupe = Unfinished;
        if (options?.DedupeStatuses is { Count: > 0 } requested)
        {
            dedupe = requested.Select(s => Enum.TryParse<OrchestrationRuntimeStatus>(s, ignoreCase: true, out var status)
                ? ToCore(status)
                : throw new ArgumentException($"Unknown orchestration status '{s}' in DedupeStatuses.", nameof(options))).ToArray();
        }
        var tags = options?.Tags?.ToDictionary(t => t.Key, t => t.Value) ?? [];
        tags[OrchestrationTags.RequestTime] = DateTimeOffset.UtcNow.ToString(CultureInfo.InvariantCulture);
        try
        {
            await _client.CreateTaskOrchestrationAsync(StartMessage(instanceId, orchestratorName.Name, options?.Version?.Version,
                Converter.Serialize(input), options?.StartAt?.UtcDateTime, tags), dedupe).WaitAsync(cancellation).ConfigureAwait(false);
        }
        catch (Core.Exceptions.OrchestrationAlreadyExistsException ex)
        {
            // The provider's message names the status only; the caller needs the id too.
            throw new Core.Exceptions.OrchestrationAlreadyExistsException($"Orchestration instance '{instanceId}' already exists: {ex.Message}");
        }
        return instanceId;
    }

    private static TaskMessage StartMessage(string instanceId, string name, string? version, string? input, DateTime? startAt, IDictionary<string, string>? tags)
    {
        var instance = new OrchestrationInstance { InstanceId = instanceId, ExecutionId = Guid.NewGuid().ToString("N") };
        return new TaskMessage
        {
            OrchestrationInstance = instance,
            Event = new ExecutionStartedEvent(-1, input)
            {
                Name = name,
                Version = version ?? string.Empty,
                OrchestrationInstance = instance,
                ScheduledStartTime = startAt,
                Tags = tags,
                ParentTraceContext = Activity.Current is { Id: not null } activity ? new Core.Tracing.DistributedTraceContext(activity.Id, activity.TraceStateString) : null,
            },
        };
    }

    /// <inheritdoc/>
    public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventName);
        return SendAsync(instanceId, new EventRaisedEvent(-1, Converter.Serialize(eventPayload)) { Name = eventName }, cancellation);
    }

    /// <inheritdoc/>
    public override async Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        await EnsureExistsAsync(instanceId, cancellation).ConfigureAwait(false);
        // The reason becomes the instance's output, so it is stored serialized like any output.
        await _client.ForceTerminateTaskOrchestrationAsync(instanceId, Converter.Serialize(options?.Output)).WaitAsync(cancellation).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new ExecutionSuspendedEvent(-1, reason), cancellation);

    /// <inheritdoc/>
    public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new ExecutionResumedEvent(-1, reason), cancellation);

    private async Task SendAsync(string instanceId, HistoryEvent e, CancellationToken cancellation)
    {
        await EnsureExistsAsync(instanceId, cancellation).ConfigureAwait(false);
        await _client.SendTaskOrchestrationMessageAsync(new TaskMessage { OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId }, Event = e })
            .WaitAsync(cancellation).ConfigureAwait(false);
    }

    private async Task EnsureExistsAsync(string instanceId, CancellationToken cancellation)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        if (await GetStateAsync(instanceId, cancellation).ConfigureAwait(false) is null) throw new InstanceNotFoundException(instanceId);
    }

    private async Task<OrchestrationState?> GetStateAsync(string instanceId, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var states = await _client.GetOrchestrationStateAsync(instanceId, allExecutions: false).WaitAsync(cancellation).ConfigureAwait(false);
        return states is { Count: > 0 } ? states[0] : null;
    }

    /// <inheritdoc/>
    public override async Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        var state = await GetStateAsync(instanceId, cancellation).ConfigureAwait(false);
        return state is null ? null : ToMetadata(await WithFailureDetailsAsync(state, cancellation).ConfigureAwait(false), getInputsAndOutputs);
    }

    /// <summary>
    /// Fills in the failure details of a failed instance from its history when the provider's status lacks them: the
    /// Azure Storage provider stores only <c>FailureDetails.ToString()</c> as the output of a failed instance, while
    /// the history's ExecutionCompleted event keeps type, message, stack trace and inner failure.
    /// </summary>
    private async Task<OrchestrationState> WithFailureDetailsAsync(OrchestrationState state, CancellationToken cancellation)
    {
        if (state.OrchestrationStatus != Core.OrchestrationStatus.Failed || state.FailureDetails is not null) return state;
        var json = await _client.GetOrchestrationHistoryAsync(state.OrchestrationInstance.InstanceId, state.OrchestrationInstance.ExecutionId)
            .WaitAsync(cancellation).ConfigureAwait(false);
        state.FailureDetails = HistoryJson.Parse(json).OfType<ExecutionCompletedEvent>().LastOrDefault()?.FailureDetails;
        return state;
    }

    /// <inheritdoc/>
    public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        WaitAsync(instanceId, getInputsAndOutputs, s => s != Core.OrchestrationStatus.Pending, cancellation);

    /// <inheritdoc/>
    public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        WaitAsync(instanceId, getInputsAndOutputs, s => Finished.Contains(s), cancellation, untilFinished: true);

    /// <summary>
    /// Polls the instance's status with a doubling interval until <paramref name="done"/>. A wait for the end on the
    /// SQLite provider sleeps in the provider's own wait instead, which a status change committed in this process ends at
    /// once (another process's within its polling interval): polling noticed the end of a run up to
    /// <see cref="DurableTaskFrameworkClientOptions.MaxWaitPollingInterval"/> late (a quarter of a second on average for a
    /// 2-second orchestration). Each provider wait is bounded by that interval, so a purged instance is still noticed.
    /// </summary>
    private async Task<OrchestrationMetadata> WaitAsync(string instanceId, bool getInputsAndOutputs, Func<Core.OrchestrationStatus, bool> done, CancellationToken cancellation,
        bool untilFinished = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        var delay = _options.MinWaitPollingInterval;
        var signalled = untilFinished ? _client as global::Serverless.DurableTask.Sqlite.SqliteOrchestrationService : null;
        while (true)
        {
            var state = await GetStateAsync(instanceId, cancellation).ConfigureAwait(false) ?? throw new InstanceNotFoundException(instanceId);
            if (done(state.OrchestrationStatus)) return ToMetadata(await WithFailureDetailsAsync(state, cancellation).ConfigureAwait(false), getInputsAndOutputs)!;
            if (signalled is not null)
            {
                await signalled.WaitForOrchestrationAsync(instanceId, null!, _options.MaxWaitPollingInterval, cancellation).ConfigureAwait(false);
                continue;
            }
            await Task.Delay(delay, cancellation).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxWaitPollingInterval.Ticks));
        }
    }

    /// <inheritdoc/>
    public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(Microsoft.DurableTask.Client.OrchestrationQuery? filter = null)
    {
        var queries = Cast<IOrchestrationServiceQueryClient>("queries");
        return Pageable.Create<OrchestrationMetadata>(async (continuation, pageSize, cancellation) =>
        {
            var query = new CoreQuery
            {
                RuntimeStatus = filter?.Statuses?.Select(ToCore).ToList(),
                CreatedTimeFrom = filter?.CreatedFrom?.UtcDateTime,
                CreatedTimeTo = filter?.CreatedTo?.UtcDateTime,
                TaskHubNames = filter?.TaskHubNames?.ToList(),
                PageSize = pageSize ?? filter?.PageSize ?? Microsoft.DurableTask.Client.OrchestrationQuery.DefaultPageSize,
                ContinuationToken = continuation ?? filter?.ContinuationToken,
                InstanceIdPrefix = filter?.InstanceIdPrefix,
                FetchInputsAndOutputs = filter?.FetchInputsAndOutputs ?? false,
            };
            var result = await queries.GetOrchestrationWithQueryAsync(query, cancellation).ConfigureAwait(false);
            var values = result.OrchestrationState.Select(s => ToMetadata(s, query.FetchInputsAndOutputs)!).ToList();
            return new Page<OrchestrationMetadata>(values, string.IsNullOrEmpty(result.ContinuationToken) ? null : result.ContinuationToken);
        });
    }

    /// <inheritdoc/>
    public override async Task<Microsoft.DurableTask.Client.PurgeResult> PurgeInstanceAsync(string instanceId, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        var purge = Cast<IOrchestrationServicePurgeClient>("purges");
        var state = await GetStateAsync(instanceId, cancellation).ConfigureAwait(false);
        if (state is null || !Finished.Contains(state.OrchestrationStatus)) return new Microsoft.DurableTask.Client.PurgeResult(0);
        var result = await purge.PurgeInstanceStateAsync(instanceId).WaitAsync(cancellation).ConfigureAwait(false);
        return new Microsoft.DurableTask.Client.PurgeResult(result.DeletedInstanceCount, result.IsComplete);
    }

    /// <inheritdoc/>
    public override async Task<Microsoft.DurableTask.Client.PurgeResult> PurgeAllInstancesAsync(PurgeInstancesFilter filter, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var purge = Cast<IOrchestrationServicePurgeClient>("purges");
        // Unfinished instances are never purged: a filter naming only them matches nothing.
        var statuses = (filter.Statuses?.Select(ToCore) ?? Finished).Where(s => Finished.Contains(s)).Distinct().ToList();
        if (statuses.Count == 0) return new Microsoft.DurableTask.Client.PurgeResult(0);
        var coreFilter = new PurgeInstanceFilter(filter.CreatedFrom?.UtcDateTime ?? EarliestCreated, filter.CreatedTo?.UtcDateTime, statuses) { Timeout = filter.Timeout };
        var result = await purge.PurgeInstanceStateAsync(coreFilter).WaitAsync(cancellation).ConfigureAwait(false);
        return new Microsoft.DurableTask.Client.PurgeResult(result.DeletedInstanceCount, result.IsComplete);
    }

    /// <inheritdoc/>
    public override async Task<string> RestartAsync(string instanceId, bool restartWithNewInstanceId = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        var state = await GetStateAsync(instanceId, cancellation).ConfigureAwait(false) ?? throw new InstanceNotFoundException(instanceId);
        if (!Finished.Contains(state.OrchestrationStatus) && !restartWithNewInstanceId)
        {
            throw new InvalidOperationException(
                $"Instance '{instanceId}' is {ToRuntime(state.OrchestrationStatus)} and cannot be restarted under the same id; wait until it finishes or restart with a new instance id.");
        }
        var newId = restartWithNewInstanceId ? Guid.NewGuid().ToString("N") : instanceId;
        // The stored input is already serialized: it is passed on as is, not serialized twice.
        await _client.CreateTaskOrchestrationAsync(StartMessage(newId, state.Name, state.Version, state.Input, null, null), Unfinished)
            .WaitAsync(cancellation).ConfigureAwait(false);
        return newId;
    }

    /// <summary>The history of the instance's latest execution as DTFx events (<see cref="HistoryJson"/>); empty for an unknown id.</summary>
    public override async Task<IList<HistoryEvent>> GetOrchestrationHistoryAsync(string instanceId, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        var json = await _client.GetOrchestrationHistoryAsync(instanceId, null!).WaitAsync(cancellation).ConfigureAwait(false);
        return HistoryJson.Parse(json);
    }

    /// <inheritdoc/>
    public override ValueTask DisposeAsync() => default;

    private T Cast<T>(string what) where T : class =>
        _client as T ?? throw new NotSupportedException($"The storage provider's client ({_client.GetType().Name}) does not implement {typeof(T).Name}, so it cannot serve {what}.");

    private OrchestrationMetadata? ToMetadata(OrchestrationState? state, bool getInputsAndOutputs)
    {
        if (state is null) return null;
        return new OrchestrationMetadata(state.Name, state.OrchestrationInstance.InstanceId)
        {
            DataConverter = Converter,
            RuntimeStatus = ToRuntime(state.OrchestrationStatus),
            CreatedAt = DateTime.SpecifyKind(state.CreatedTime, DateTimeKind.Utc),
            LastUpdatedAt = DateTime.SpecifyKind(state.LastUpdatedTime, DateTimeKind.Utc),
            SerializedInput = getInputsAndOutputs ? state.Input : null,
            SerializedOutput = getInputsAndOutputs ? state.Output : null,
            SerializedCustomStatus = getInputsAndOutputs ? state.Status : null,
            FailureDetails = ToFailure(state.FailureDetails),
            Tags = state.Tags is null ? new Dictionary<string, string>() : new Dictionary<string, string>(state.Tags),
        };
    }

    private static TaskFailureDetails? ToFailure(FailureDetails? f) =>
        f is null ? null : new TaskFailureDetails(f.ErrorType, f.ErrorMessage, f.StackTrace, ToFailure(f.InnerFailure), null);

    internal static Core.OrchestrationStatus ToCore(OrchestrationRuntimeStatus s) => (Core.OrchestrationStatus)(int)s;

    internal static OrchestrationRuntimeStatus ToRuntime(Core.OrchestrationStatus s) => (OrchestrationRuntimeStatus)(int)s;
}

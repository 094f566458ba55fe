using Microsoft.Extensions.Logging;

namespace Serverless.Durable;

/// <summary>
/// What an orchestrator sees of the engine: the API of Microsoft.DurableTask's <c>TaskOrchestrationContext</c>.
/// Orchestrator code is replayed from history after every await, so it must be deterministic: use
/// <see cref="CurrentUtcDateTime"/> and <see cref="NewGuid"/> instead of the clock and Guid.NewGuid, do no
/// I/O, and never use <c>ConfigureAwait(false)</c>, <c>Task.Run</c> or <c>Task.Delay</c> (use <see cref="CreateTimer(TimeSpan, CancellationToken)"/>).
/// </summary>
public abstract class TaskOrchestrationContext
{
    /// <summary>The orchestrator's name.</summary>
    public abstract TaskName Name { get; }

    /// <summary>This instance's id.</summary>
    public abstract string InstanceId { get; }

    /// <summary>The parent instance, for sub-orchestrations.</summary>
    public abstract History.ParentInstanceInfo? Parent { get; }

    /// <summary>The replay-safe current time: the start time of the current turn.</summary>
    public abstract DateTime CurrentUtcDateTime { get; }

    /// <summary>True while the code is re-executing history (side effects such as logging should be skipped).</summary>
    public abstract bool IsReplaying { get; }

    /// <summary>Returns the orchestration input, deserialized as <typeparamref name="T"/>.</summary>
    public abstract T? GetInput<T>();

    /// <summary>Schedules an activity and returns its result.</summary>
    public abstract Task<TResult> CallActivityAsync<TResult>(TaskName name, object? input = null, TaskOptions? options = null);

    /// <summary>Schedules an activity that returns nothing.</summary>
    public Task CallActivityAsync(TaskName name, object? input = null, TaskOptions? options = null) =>
        CallActivityAsync<object?>(name, input, options);

    /// <summary>Starts a sub-orchestration and returns its output.</summary>
    public abstract Task<TResult> CallSubOrchestratorAsync<TResult>(TaskName orchestratorName, object? input = null, TaskOptions? options = null);

    /// <summary>Starts a sub-orchestration that returns nothing.</summary>
    public Task CallSubOrchestratorAsync(TaskName orchestratorName, object? input = null, TaskOptions? options = null) =>
        CallSubOrchestratorAsync<object?>(orchestratorName, input, options);

    /// <summary>Creates a durable timer that fires at <paramref name="fireAt"/> (UTC). Cancelling the token
    /// cancels the timer's task (the timer message is then ignored).</summary>
    public abstract Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken);

    /// <summary>Creates a durable timer that fires after <paramref name="delay"/>.</summary>
    public Task CreateTimer(TimeSpan delay, CancellationToken cancellationToken) => CreateTimer(CurrentUtcDateTime.Add(delay), cancellationToken);

    /// <summary>Waits for an external event raised by a client or another orchestration.</summary>
    public abstract Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default);

    /// <summary>Waits for an external event; throws <see cref="TaskCanceledException"/> if none arrives within <paramref name="timeout"/>.</summary>
    public virtual async Task<T> WaitForExternalEvent<T>(string eventName, TimeSpan timeout)
    {
        using var timerCts = new CancellationTokenSource();
        using var eventCts = new CancellationTokenSource();
        var timer = CreateTimer(timeout, timerCts.Token);
        var evt = WaitForExternalEvent<T>(eventName, eventCts.Token);
        var winner = await Task.WhenAny(evt, timer);
        if (winner == evt) timerCts.Cancel();
        else eventCts.Cancel();
        return await evt;
    }

    /// <summary>Sends an event to another instance (fire and forget).</summary>
    public abstract void SendEvent(string instanceId, string eventName, object? payload);

    /// <summary>Sets the custom status clients see (serialized to JSON).</summary>
    public abstract void SetCustomStatus(object? customStatus);

    /// <summary>Restarts this orchestration with new input and an empty history (eternal orchestrations).</summary>
    public abstract void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true);

    /// <summary>A GUID that is the same on every replay.</summary>
    public abstract Guid NewGuid();

    /// <summary>A logger that writes only when not replaying.</summary>
    public abstract ILogger CreateReplaySafeLogger(string categoryName);

    /// <summary>A logger that writes only when not replaying.</summary>
    public ILogger CreateReplaySafeLogger<T>() => CreateReplaySafeLogger(typeof(T).FullName ?? typeof(T).Name);
}

/// <summary>What an activity sees of the engine.</summary>
public abstract class TaskActivityContext
{
    /// <summary>The activity's name.</summary>
    public abstract TaskName Name { get; }

    /// <summary>The orchestration instance that scheduled it.</summary>
    public abstract string InstanceId { get; }

    /// <summary>The task id within that instance (stable across retries of delivery: use it for idempotency keys).</summary>
    public abstract int TaskId { get; }

    /// <summary>Signalled when the worker shuts down.</summary>
    public abstract CancellationToken CancellationToken { get; }
}

/// <summary>An orchestrator as the engine invokes it (untyped).</summary>
public interface ITaskOrchestrator
{
    /// <summary>The input type.</summary>
    Type InputType { get; }

    /// <summary>Runs the orchestrator.</summary>
    Task<object?> RunAsync(TaskOrchestrationContext context, object? input);
}

/// <summary>An activity as the engine invokes it (untyped).</summary>
public interface ITaskActivity
{
    /// <summary>The input type.</summary>
    Type InputType { get; }

    /// <summary>Runs the activity.</summary>
    Task<object?> RunAsync(TaskActivityContext context, object? input);
}

/// <summary>Base class of class-based orchestrators, as in Microsoft.DurableTask.</summary>
/// <typeparam name="TInput">Input type.</typeparam>
/// <typeparam name="TOutput">Output type.</typeparam>
public abstract class TaskOrchestrator<TInput, TOutput> : ITaskOrchestrator
{
    /// <inheritdoc/>
    public Type InputType => typeof(TInput);

    /// <summary>The orchestration logic. Must be deterministic (see <see cref="TaskOrchestrationContext"/>).</summary>
    public abstract Task<TOutput> RunAsync(TaskOrchestrationContext context, TInput input);

    async Task<object?> ITaskOrchestrator.RunAsync(TaskOrchestrationContext context, object? input) =>
        await RunAsync(context, (TInput)input!);
}

/// <summary>Base class of class-based activities, as in Microsoft.DurableTask.</summary>
/// <typeparam name="TInput">Input type.</typeparam>
/// <typeparam name="TOutput">Output type.</typeparam>
public abstract class TaskActivity<TInput, TOutput> : ITaskActivity
{
    /// <inheritdoc/>
    public Type InputType => typeof(TInput);

    /// <summary>The activity logic. Runs at least once: make side effects idempotent.</summary>
    public abstract Task<TOutput> RunAsync(TaskActivityContext context, TInput input);

    async Task<object?> ITaskActivity.RunAsync(TaskActivityContext context, object? input) =>
        await RunAsync(context, (TInput)input!).ConfigureAwait(false);
}

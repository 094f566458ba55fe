using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Durable;

/// <summary>The lifecycle state of an orchestration instance, as Durable Functions reports it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OrchestrationRuntimeStatus>))]
public enum OrchestrationRuntimeStatus
{
    /// <summary>Running (started and not finished).</summary>
    Running = 0,
    /// <summary>Completed normally.</summary>
    Completed = 1,
    /// <summary>Restarted itself with new input.</summary>
    ContinuedAsNew = 2,
    /// <summary>Failed with an unhandled exception.</summary>
    Failed = 3,
    /// <summary>Canceled (reserved; not produced by this engine).</summary>
    Canceled = 4,
    /// <summary>Terminated by a client.</summary>
    Terminated = 5,
    /// <summary>Scheduled but not started yet.</summary>
    Pending = 6,
    /// <summary>Suspended by a client; events are held until resumed.</summary>
    Suspended = 7,
}

/// <summary>Helpers on <see cref="OrchestrationRuntimeStatus"/>.</summary>
public static class OrchestrationRuntimeStatusExtensions
{
    /// <summary>True for states an instance never leaves by itself (completed, failed, terminated, canceled).</summary>
    public static bool IsTerminal(this OrchestrationRuntimeStatus status) =>
        status is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed
            or OrchestrationRuntimeStatus.Terminated or OrchestrationRuntimeStatus.Canceled;
}

/// <summary>Names of worker pools. An activity runs only on workers that serve its pool.</summary>
public static class WorkerPools
{
    /// <summary>The pool of every activity that names none.</summary>
    public const string Default = "default";

    /// <summary>The pool served by the trainer app (the GPU container app of a cloud deployment).</summary>
    public const string Gpu = "gpu";
}

/// <summary>A task (orchestrator or activity) name; converts implicitly from string, as in Microsoft.DurableTask.</summary>
/// <param name="Name">The name.</param>
public readonly record struct TaskName(string Name)
{
    /// <summary>Converts a string to a task name.</summary>
    public static implicit operator TaskName(string name) => new(name);

    /// <summary>Converts a string to a task name.</summary>
    public static TaskName FromString(string name) => new(name);

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>Why a task or orchestration failed: error type, message, stack trace and inner failure.</summary>
/// <param name="ErrorType">The exception's full type name.</param>
/// <param name="ErrorMessage">The exception's message.</param>
/// <param name="StackTrace">The stack trace, if any.</param>
/// <param name="InnerFailure">The inner exception's details, if any.</param>
public sealed record TaskFailureDetails(string ErrorType, string ErrorMessage, string? StackTrace = null, TaskFailureDetails? InnerFailure = null)
{
    /// <summary>Captures an exception (with its inner exceptions).</summary>
    public static TaskFailureDetails FromException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is TaskFailedException tfe)
        {
            // Keep the activity's own failure as the inner failure, as durabletask-dotnet does.
            return new TaskFailureDetails(exception.GetType().FullName!, exception.Message, exception.StackTrace, tfe.FailureDetails);
        }
        return new TaskFailureDetails(
            exception.GetType().FullName!,
            exception.Message,
            exception.StackTrace,
            exception.InnerException is null ? null : FromException(exception.InnerException));
    }

    /// <summary>True if this failure (or an inner one) was caused by an exception of type <typeparamref name="T"/>.</summary>
    public bool IsCausedBy<T>() where T : Exception =>
        ErrorType == typeof(T).FullName || (InnerFailure?.IsCausedBy<T>() ?? false);

    /// <inheritdoc/>
    public override string ToString() => $"{ErrorType}: {ErrorMessage}";
}

/// <summary>Thrown inside an orchestrator when an activity or sub-orchestration it awaited failed.</summary>
public sealed class TaskFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TaskFailedException(string taskName, int taskId, TaskFailureDetails failureDetails)
        : base($"Task '{taskName}' (#{taskId}) failed with an unhandled exception: {failureDetails.ErrorMessage}")
    {
        TaskName = taskName;
        TaskId = taskId;
        FailureDetails = failureDetails;
    }

    /// <summary>The failed task's name.</summary>
    public string TaskName { get; }

    /// <summary>The failed task's id in the orchestration history.</summary>
    public int TaskId { get; }

    /// <summary>What went wrong in the task.</summary>
    public TaskFailureDetails FailureDetails { get; }
}

/// <summary>Raised when replayed code does something other than what the history recorded.</summary>
public sealed class NonDeterministicOrchestrationException(string message) : Exception(message);

/// <summary>
/// How the orchestration of a call behaves: retries and, for sub-orchestrations, the instance id.
/// Mirrors Microsoft.DurableTask's <c>TaskOptions</c>.
/// </summary>
public record TaskOptions
{
    /// <summary>Creates options with an optional retry policy.</summary>
    public TaskOptions(RetryPolicy? retry = null) => Retry = retry;

    /// <summary>Retry policy; null means no retries.</summary>
    public RetryPolicy? Retry { get; init; }

    /// <summary>Creates options from a retry policy.</summary>
    public static TaskOptions FromRetryPolicy(RetryPolicy policy) => new(policy);
}

/// <summary>Options of a sub-orchestration call: retries and the child's instance id.</summary>
public sealed record SubOrchestrationOptions : TaskOptions
{
    /// <summary>Creates options.</summary>
    public SubOrchestrationOptions(RetryPolicy? retry = null, string? instanceId = null) : base(retry) => InstanceId = instanceId;

    /// <summary>The child's instance id; default is derived deterministically from the parent's.</summary>
    public string? InstanceId { get; init; }
}

/// <summary>
/// Declarative retry with exponential backoff, as in Microsoft.DurableTask. Delays are durable timers,
/// so a retry survives a crash and costs nothing while it waits.
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>Creates a policy.</summary>
    /// <param name="maxNumberOfAttempts">Attempts in total, including the first (>= 1).</param>
    /// <param name="firstRetryInterval">Delay before the first retry (> 0).</param>
    /// <param name="backoffCoefficient">Multiplier applied to the delay after each retry (>= 1). Default 1.</param>
    /// <param name="maxRetryInterval">Upper bound on a single delay. Default: no bound.</param>
    /// <param name="retryTimeout">Overall time after which no retry starts. Default: no bound.</param>
    public RetryPolicy(int maxNumberOfAttempts, TimeSpan firstRetryInterval, double backoffCoefficient = 1.0,
        TimeSpan? maxRetryInterval = null, TimeSpan? retryTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNumberOfAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(firstRetryInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(backoffCoefficient, 1.0);
        MaxNumberOfAttempts = maxNumberOfAttempts;
        FirstRetryInterval = firstRetryInterval;
        BackoffCoefficient = backoffCoefficient;
        MaxRetryInterval = maxRetryInterval ?? TimeSpan.FromHours(1);
        RetryTimeout = retryTimeout ?? Timeout.InfiniteTimeSpan;
    }

    /// <summary>Attempts in total, including the first.</summary>
    public int MaxNumberOfAttempts { get; }
    /// <summary>Delay before the first retry.</summary>
    public TimeSpan FirstRetryInterval { get; }
    /// <summary>Multiplier per retry.</summary>
    public double BackoffCoefficient { get; }
    /// <summary>Upper bound on one delay (default one hour).</summary>
    public TimeSpan MaxRetryInterval { get; }
    /// <summary>Overall retry window (default infinite).</summary>
    public TimeSpan RetryTimeout { get; }
    /// <summary>Optional filter: return false to stop retrying for a given failure.</summary>
    public Func<TaskFailureDetails, bool>? HandleFailure { get; init; }

    /// <summary>The delay before retry number <paramref name="retryNumber"/> (1-based).</summary>
    public TimeSpan GetDelay(int retryNumber)
    {
        var ms = FirstRetryInterval.TotalMilliseconds * Math.Pow(BackoffCoefficient, retryNumber - 1);
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxRetryInterval.TotalMilliseconds));
    }
}

/// <summary>Converts inputs and outputs to and from their stored (string) form.</summary>
public abstract class DataConverter
{
    /// <summary>Serializes a value; null stays null.</summary>
    public abstract string? Serialize(object? value);

    /// <summary>Deserializes a value of the given type; null stays null.</summary>
    public abstract object? Deserialize(string? data, Type targetType);

    /// <summary>Typed <see cref="Deserialize(string?, Type)"/>.</summary>
    public T? Deserialize<T>(string? data) => (T?)Deserialize(data, typeof(T));
}

/// <summary>The default converter: System.Text.Json, case-insensitive on read.</summary>
public sealed class JsonDataConverter : DataConverter
{
    /// <summary>A shared instance.</summary>
    public static JsonDataConverter Default { get; } = new();

    private readonly JsonSerializerOptions _options;

    /// <summary>Creates a converter with the given options (default: camel case off, case-insensitive read).</summary>
    public JsonDataConverter(JsonSerializerOptions? options = null)
    {
        _options = options ?? new JsonSerializerOptions { PropertyNameCaseInsensitive = true };
    }

    /// <inheritdoc/>
    public override string? Serialize(object? value) => value is null ? null : JsonSerializer.Serialize(value, value.GetType(), _options);

    /// <inheritdoc/>
    public override object? Deserialize(string? data, Type targetType)
    {
        ArgumentNullException.ThrowIfNull(targetType);
        if (data is null) return null;
        try
        {
            return JsonSerializer.Deserialize(data, targetType, _options);
        }
        catch (JsonException ex)
        {
            var preview = data.Length > 200 ? data[..200] + "..." : data;
            throw new InvalidDataException($"Cannot deserialize input as {targetType.Name}: {ex.Message} (data: {preview})", ex);
        }
    }
}

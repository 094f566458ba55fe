using System.Text.Json.Serialization;

namespace Serverless.Durable.History;

/// <summary>
/// One event of an orchestration's event-sourced history. The vocabulary is the Durable Task
/// Framework's, so histories read the same as those of Azure Durable Functions. Events are immutable
/// and serialized as JSON with an <c>EventType</c> discriminator.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "EventType")]
[JsonDerivedType(typeof(ExecutionStartedEvent), "ExecutionStarted")]
[JsonDerivedType(typeof(ExecutionCompletedEvent), "ExecutionCompleted")]
[JsonDerivedType(typeof(ExecutionTerminatedEvent), "ExecutionTerminated")]
[JsonDerivedType(typeof(ExecutionSuspendedEvent), "ExecutionSuspended")]
[JsonDerivedType(typeof(ExecutionResumedEvent), "ExecutionResumed")]
[JsonDerivedType(typeof(OrchestratorStartedEvent), "OrchestratorStarted")]
[JsonDerivedType(typeof(OrchestratorCompletedEvent), "OrchestratorCompleted")]
[JsonDerivedType(typeof(TaskScheduledEvent), "TaskScheduled")]
[JsonDerivedType(typeof(TaskCompletedEvent), "TaskCompleted")]
[JsonDerivedType(typeof(TaskFailedEvent), "TaskFailed")]
[JsonDerivedType(typeof(SubOrchestrationInstanceCreatedEvent), "SubOrchestrationInstanceCreated")]
[JsonDerivedType(typeof(SubOrchestrationInstanceCompletedEvent), "SubOrchestrationInstanceCompleted")]
[JsonDerivedType(typeof(SubOrchestrationInstanceFailedEvent), "SubOrchestrationInstanceFailed")]
[JsonDerivedType(typeof(TimerCreatedEvent), "TimerCreated")]
[JsonDerivedType(typeof(TimerFiredEvent), "TimerFired")]
[JsonDerivedType(typeof(EventRaisedEvent), "EventRaised")]
[JsonDerivedType(typeof(EventSentEvent), "EventSent")]
[JsonDerivedType(typeof(ContinueAsNewEvent), "ContinueAsNew")]
public abstract record HistoryEvent
{
    /// <summary>The sequence number of the action that produced this event (scheduled tasks, timers,
    /// sub-orchestrations), or -1 for events that are not actions.</summary>
    public int EventId { get; init; } = -1;

    /// <summary>When the event was recorded (UTC).</summary>
    public DateTime Timestamp { get; init; }

    /// <summary>The DTFx event type name, e.g. <c>TaskScheduled</c> (the JSON discriminator carries it when stored).</summary>
    [JsonIgnore]
    public string EventType => GetType().Name[..^"Event".Length];
}

/// <summary>Identifies the parent of a sub-orchestration, so its completion can be reported back.</summary>
/// <param name="Name">The parent orchestrator's name.</param>
/// <param name="InstanceId">The parent instance id.</param>
/// <param name="ExecutionId">The parent execution id.</param>
/// <param name="TaskScheduledId">The parent's action id waiting for this instance.</param>
public sealed record ParentInstanceInfo(string Name, string InstanceId, string ExecutionId, int TaskScheduledId);

/// <summary>The first event of every execution: which orchestrator runs, with what input.</summary>
public sealed record ExecutionStartedEvent : HistoryEvent
{
    /// <summary>Orchestrator name.</summary>
    public required string Name { get; init; }
    /// <summary>Instance id.</summary>
    public required string InstanceId { get; init; }
    /// <summary>Execution id (a new one per ContinueAsNew generation).</summary>
    public required string ExecutionId { get; init; }
    /// <summary>Serialized input.</summary>
    public string? Input { get; init; }
    /// <summary>The parent, for sub-orchestrations.</summary>
    public ParentInstanceInfo? ParentInstance { get; init; }
    /// <summary>When the instance should start, if delayed.</summary>
    public DateTime? ScheduledStartTime { get; init; }
}

/// <summary>The orchestration finished (completed, failed or continued as new).</summary>
public sealed record ExecutionCompletedEvent : HistoryEvent
{
    /// <summary>Final status.</summary>
    public OrchestrationRuntimeStatus OrchestrationStatus { get; init; }
    /// <summary>Serialized output.</summary>
    public string? Result { get; init; }
    /// <summary>Failure details when failed.</summary>
    public TaskFailureDetails? FailureDetails { get; init; }
}

/// <summary>A client asked to terminate the instance.</summary>
public sealed record ExecutionTerminatedEvent : HistoryEvent
{
    /// <summary>Serialized reason, becomes the output.</summary>
    public string? Input { get; init; }
}

/// <summary>A client suspended the instance: later events are held until it is resumed.</summary>
public sealed record ExecutionSuspendedEvent : HistoryEvent
{
    /// <summary>Optional reason.</summary>
    public string? Reason { get; init; }
}

/// <summary>A client resumed a suspended instance.</summary>
public sealed record ExecutionResumedEvent : HistoryEvent
{
    /// <summary>Optional reason.</summary>
    public string? Reason { get; init; }
}

/// <summary>Marks the start of an orchestrator turn; its timestamp is <c>CurrentUtcDateTime</c>.</summary>
public sealed record OrchestratorStartedEvent : HistoryEvent
{
}

/// <summary>Marks the end of an orchestrator turn.</summary>
public sealed record OrchestratorCompletedEvent : HistoryEvent
{
}

/// <summary>The orchestrator scheduled an activity (EventId is the task id).</summary>
public sealed record TaskScheduledEvent : HistoryEvent
{
    /// <summary>Activity name.</summary>
    public required string Name { get; init; }
    /// <summary>Serialized input.</summary>
    public string? Input { get; init; }
    /// <summary>The worker pool that runs it.</summary>
    public string Pool { get; init; } = WorkerPools.Default;
}

/// <summary>An activity completed.</summary>
public sealed record TaskCompletedEvent : HistoryEvent
{
    /// <summary>The task id from <see cref="TaskScheduledEvent"/>.</summary>
    public int TaskScheduledId { get; init; }
    /// <summary>Serialized result.</summary>
    public string? Result { get; init; }
}

/// <summary>An activity failed.</summary>
public sealed record TaskFailedEvent : HistoryEvent
{
    /// <summary>The task id from <see cref="TaskScheduledEvent"/>.</summary>
    public int TaskScheduledId { get; init; }
    /// <summary>What went wrong.</summary>
    public required TaskFailureDetails FailureDetails { get; init; }
}

/// <summary>The orchestrator started a sub-orchestration (EventId is the task id).</summary>
public sealed record SubOrchestrationInstanceCreatedEvent : HistoryEvent
{
    /// <summary>Orchestrator name of the child.</summary>
    public required string Name { get; init; }
    /// <summary>Child instance id.</summary>
    public required string InstanceId { get; init; }
    /// <summary>Serialized input.</summary>
    public string? Input { get; init; }
}

/// <summary>A sub-orchestration completed.</summary>
public sealed record SubOrchestrationInstanceCompletedEvent : HistoryEvent
{
    /// <summary>The parent's task id.</summary>
    public int TaskScheduledId { get; init; }
    /// <summary>Serialized result.</summary>
    public string? Result { get; init; }
}

/// <summary>A sub-orchestration failed.</summary>
public sealed record SubOrchestrationInstanceFailedEvent : HistoryEvent
{
    /// <summary>The parent's task id.</summary>
    public int TaskScheduledId { get; init; }
    /// <summary>What went wrong.</summary>
    public required TaskFailureDetails FailureDetails { get; init; }
}

/// <summary>The orchestrator created a durable timer (EventId is the timer id).</summary>
public sealed record TimerCreatedEvent : HistoryEvent
{
    /// <summary>When it fires (UTC).</summary>
    public DateTime FireAt { get; init; }
}

/// <summary>A durable timer fired.</summary>
public sealed record TimerFiredEvent : HistoryEvent
{
    /// <summary>The timer id from <see cref="TimerCreatedEvent"/>.</summary>
    public int TimerId { get; init; }
    /// <summary>When it was due (UTC).</summary>
    public DateTime FireAt { get; init; }
}

/// <summary>An external event arrived.</summary>
public sealed record EventRaisedEvent : HistoryEvent
{
    /// <summary>Event name (matched case-insensitively).</summary>
    public required string Name { get; init; }
    /// <summary>Serialized payload.</summary>
    public string? Input { get; init; }
}

/// <summary>The orchestrator sent an event to another instance (EventId is the action id).</summary>
public sealed record EventSentEvent : HistoryEvent
{
    /// <summary>Target instance.</summary>
    public required string InstanceId { get; init; }
    /// <summary>Event name.</summary>
    public required string Name { get; init; }
    /// <summary>Serialized payload.</summary>
    public string? Input { get; init; }
}

/// <summary>The orchestrator restarted itself with new input (recorded before the history is reset).</summary>
public sealed record ContinueAsNewEvent : HistoryEvent
{
    /// <summary>Serialized new input.</summary>
    public string? Input { get; init; }
}

using DurableTask.Core.History;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Serverless.Hosting.Client;

/// <summary>
/// Reads the history text of <c>IOrchestrationServiceClient.GetOrchestrationHistoryAsync</c> back into DTFx's typed
/// history events. Providers write it with Newtonsoft.Json from DTFx's <see cref="HistoryEvent"/> objects, without
/// type names (the Azure Storage provider) or with them; the <c>EventType</c> field says which class each entry is.
/// </summary>
public static class HistoryJson
{
    private static readonly JsonSerializer Serializer = JsonSerializer.Create(new JsonSerializerSettings
    {
        TypeNameHandling = TypeNameHandling.None,
        MetadataPropertyHandling = MetadataPropertyHandling.Ignore,
        DateParseHandling = DateParseHandling.DateTime,
        DateTimeZoneHandling = DateTimeZoneHandling.Utc,
        ConstructorHandling = ConstructorHandling.AllowNonPublicDefaultConstructor,
    });

    private static readonly Dictionary<EventType, Type> Types = new()
    {
        [EventType.ExecutionStarted] = typeof(ExecutionStartedEvent),
        [EventType.ExecutionCompleted] = typeof(ExecutionCompletedEvent),
        [EventType.ExecutionTerminated] = typeof(ExecutionTerminatedEvent),
        [EventType.TaskScheduled] = typeof(TaskScheduledEvent),
        [EventType.TaskCompleted] = typeof(TaskCompletedEvent),
        [EventType.TaskFailed] = typeof(TaskFailedEvent),
        [EventType.SubOrchestrationInstanceCreated] = typeof(SubOrchestrationInstanceCreatedEvent),
        [EventType.SubOrchestrationInstanceCompleted] = typeof(SubOrchestrationInstanceCompletedEvent),
        [EventType.SubOrchestrationInstanceFailed] = typeof(SubOrchestrationInstanceFailedEvent),
        [EventType.TimerCreated] = typeof(TimerCreatedEvent),
        [EventType.TimerFired] = typeof(TimerFiredEvent),
        [EventType.OrchestratorStarted] = typeof(OrchestratorStartedEvent),
        [EventType.OrchestratorCompleted] = typeof(OrchestratorCompletedEvent),
        [EventType.EventSent] = typeof(EventSentEvent),
        [EventType.EventRaised] = typeof(EventRaisedEvent),
        [EventType.ContinueAsNew] = typeof(ContinueAsNewEvent),
        [EventType.GenericEvent] = typeof(GenericEvent),
        [EventType.HistoryState] = typeof(HistoryStateEvent),
        [EventType.ExecutionSuspended] = typeof(ExecutionSuspendedEvent),
        [EventType.ExecutionResumed] = typeof(ExecutionResumedEvent),
        [EventType.ExecutionRewound] = typeof(ExecutionRewoundEvent),
    };

    /// <summary>Parses a JSON array of history events; empty or null text gives an empty list.</summary>
    public static IList<HistoryEvent> Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return [];
        var array = JArray.Parse(json);
        var events = new List<HistoryEvent>(array.Count);
        foreach (var token in array)
        {
            if (token is not JObject obj) throw new FormatException("A history entry is not a JSON object.");
            var typeToken = obj.GetValue("EventType", StringComparison.OrdinalIgnoreCase)
                ?? throw new FormatException("A history entry has no EventType.");
            var eventType = typeToken.Type == JTokenType.Integer
                ? (EventType)typeToken.Value<int>()
                : Enum.Parse<EventType>(typeToken.Value<string>()!, ignoreCase: true);
            if (!Types.TryGetValue(eventType, out var type)) throw new FormatException($"Unknown history event type {eventType}.");
            events.Add((HistoryEvent)obj.ToObject(type, Serializer)!);
        }
        return events;
    }
}

using System.Text.Json;

namespace Serverless.Durable.History;

/// <summary>The one JSON form of history events and failure details that every durable backend stores.</summary>
public static class HistoryJson
{
    /// <summary>Serializer options for stored events (polymorphic on <c>EventType</c>).</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.General)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Serializes an event.</summary>
    public static string Serialize(HistoryEvent e) => JsonSerializer.Serialize(e, Options);

    /// <summary>Deserializes an event.</summary>
    public static HistoryEvent Deserialize(string json) =>
        JsonSerializer.Deserialize<HistoryEvent>(json, Options) ?? throw new InvalidDataException("Stored history event is null.");

    /// <summary>Serializes failure details (null stays null).</summary>
    public static string? SerializeFailure(TaskFailureDetails? f) => f is null ? null : JsonSerializer.Serialize(f, Options);

    /// <summary>Deserializes failure details (null stays null).</summary>
    public static TaskFailureDetails? DeserializeFailure(string? json) => json is null ? null : JsonSerializer.Deserialize<TaskFailureDetails>(json, Options);
}

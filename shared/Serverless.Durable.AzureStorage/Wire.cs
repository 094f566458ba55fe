using System.Text;
using System.Text.Json;
using Serverless.Durable.History;

namespace Serverless.Durable.AzureStorage;

/// <summary>A message on a control queue (for one orchestration instance).</summary>
internal sealed class ControlEnvelope
{
    /// <summary>Dedupe id: the same logical message always carries the same id, also when re-sent by a repair.</summary>
    public required string Id { get; init; }
    public required string Instance { get; init; }
    /// <summary>Due time (UTC ticks, the engine's clock) for timers and delayed starts.</summary>
    public long? FireAt { get; init; }
    /// <summary>Creation time of a client-created instance (UTC ticks).</summary>
    public long? Created { get; init; }
    /// <summary>The event JSON, or null when offloaded to <see cref="Blob"/>.</summary>
    public string? Event { get; set; }
    /// <summary>Blob (in the history container) holding the event JSON when it was too large for a queue message.</summary>
    public string? Blob { get; set; }
    /// <summary>Several activity results for this instance in one message (a worker's result batch); each keeps its
    /// own dedupe id <c>r:{execution}:{task}</c>. <see cref="Event"/> and <see cref="Blob"/> are null then.</summary>
    public List<BatchedResult>? Results { get; init; }
}

/// <summary>One activity result inside a batched control message or a result-batch blob.</summary>
internal sealed class BatchedResult
{
    /// <summary>Dedupe id <c>r:{execution}:{task}</c>.</summary>
    public required string Id { get; init; }
    public int TaskId { get; init; }
    /// <summary>The TaskCompleted/TaskFailed event JSON.</summary>
    public required string Event { get; init; }
}

/// <summary>A message on a work-item queue (one activity execution).</summary>
internal sealed class ActivityEnvelope
{
    public required string Id { get; init; }
    public required string Instance { get; init; }
    public required string Execution { get; init; }
    public required int TaskId { get; init; }
    public string? Event { get; set; }
    public string? Blob { get; set; }
    /// <summary>Re-sent by a repair: check the result marker before running it.</summary>
    public bool Resent { get; set; }
    /// <summary>Leased to the committing worker at send time: a later receive must check the result marker.</summary>
    public bool Local { get; set; }
}

/// <summary>One outbound message of a turn, kept in the history document until the next turn.</summary>
internal sealed class OutboxEntry
{
    /// <summary>Work-item pool for activities; null for control messages.</summary>
    public string? Pool { get; init; }
    public ControlEnvelope? Control { get; init; }
    public ActivityEnvelope? Activity { get; init; }
}

/// <summary>
/// The per-instance history blob: the event-sourced history of the current execution plus everything needed to
/// finish an interrupted turn (its outbox) and to drop redelivered messages (ids already consumed). Writing it is
/// the commit point of a turn; the state blob is a projection of it.
/// </summary>
internal sealed class HistoryDocument : StateDocument
{
    public List<HistoryEvent> Events { get; set; } = [];
    public List<string> Consumed { get; set; } = [];
    public List<OutboxEntry> Outbox { get; set; } = [];
}

/// <summary>The per-instance state blob (what clients read); <see cref="Version"/> = the history version it reflects.
/// The history blob carries the same fields plus its events, consumed ids and outbox.</summary>
internal class StateDocument
{
    public int Version { get; set; }
    public string Name { get; set; } = "";
    public string? ExecutionId { get; set; }
    public OrchestrationRuntimeStatus Status { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public string? Input { get; set; }
    public string? Output { get; set; }
    public string? CustomStatus { get; set; }
    public TaskFailureDetails? Failure { get; set; }
    public string? ParentInstanceId { get; set; }
}

/// <summary>Names of queues, containers and blobs of one task hub.</summary>
internal static class Names
{
    public static string Control(string hub, int partition) => $"{hub}-control-{partition:D2}";
    public static string Instances(string hub) => $"{hub}-instances";
    public static string History(string hub) => $"{hub}-history";
    public static string Leases(string hub) => $"{hub}-leases";

    /// <summary>Work-item queue of a pool: lower-case letters, digits and single hyphens (queue naming rules).</summary>
    public static string WorkItems(string hub, string pool)
    {
        var sb = new StringBuilder();
        foreach (var c in pool.ToLowerInvariant())
        {
            var ok = c is (>= 'a' and <= 'z') or (>= '0' and <= '9');
            if (ok) sb.Append(c);
            else if (sb.Length > 0 && sb[^1] != '-') sb.Append('-');
        }
        var name = sb.ToString().Trim('-');
        if (name.Length == 0 || name.Length > 20 || !string.Equals(name, pool, StringComparison.Ordinal))
            name = (name.Length > 0 ? name[..Math.Min(name.Length, 10)].Trim('-') + "-" : "") + Hash(pool).ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
        return $"{hub}-workitems-{name}";
    }

    /// <summary>Blob-name form of an instance id (escaped so '/' and odd characters cannot form paths).</summary>
    public static string Blob(string instanceId) => Uri.EscapeDataString(instanceId);

    public static string InstanceFromBlob(string blobName) => Uri.UnescapeDataString(blobName);

    public static string HistoryBlob(string instanceId) => $"{Blob(instanceId)}/history.json";
    public static string ResultBlob(string instanceId, string executionId, int taskId) =>
        $"{Blob(instanceId)}/results/{Uri.EscapeDataString(executionId)}-{taskId.ToString(System.Globalization.CultureInfo.InvariantCulture)}.json";
    /// <summary>A worker's batch of results for one execution; its metadata <c>tasks</c> lists the task ids (comma-separated).</summary>
    public static string ResultBatchBlob(string instanceId, string executionId) =>
        $"{Blob(instanceId)}/results/b-{Uri.EscapeDataString(executionId)}-{Guid.NewGuid():N}.json";
    public static string ResultBatchPrefix(string instanceId, string executionId) => $"{Blob(instanceId)}/results/b-{Uri.EscapeDataString(executionId)}-";
    public static string MessageBlob(string instanceId, string messageId) => $"{Blob(instanceId)}/messages/{Uri.EscapeDataString(messageId)}.json";

    /// <summary>FNV-1a over the UTF-8 bytes: stable across processes, platforms and .NET versions (string.GetHashCode is not).</summary>
    public static uint Hash(string s)
    {
        var h = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(s)) { h ^= b; h *= 16777619u; }
        return h;
    }

    public static int Partition(string instanceId, int count) => (int)(Hash(instanceId) % (uint)count);
}

internal static class Json
{
    public static JsonSerializerOptions Options => HistoryJson.Options;
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
    public static T Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options) ?? throw new InvalidDataException($"Stored {typeof(T).Name} is null.");
    public static T Deserialize<T>(BinaryData data) => JsonSerializer.Deserialize<T>(data.ToMemory().Span, Options) ?? throw new InvalidDataException($"Stored {typeof(T).Name} is null.");
}

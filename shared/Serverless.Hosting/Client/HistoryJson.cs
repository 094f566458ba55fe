using DurableTask.Core;
using DurableTask.Core.History;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Serverless.Hosting.Client;

/// <summary>
/// Reads the history text of <c>IOrchestrationServiceClient.GetOrchestrationHistoryAsync</c> back into DTFx's typed
/// history events. Providers write it with Newtonsoft.Json from DTFx's <see cref="HistoryEvent"/> objects, without
/// type names (the Azure Storage provider) or with them; the <c>EventType</c> field says which class each entry is.
/// </summary>
/// <remarks>
/// The text of a 10,000-event history is about 3 MB. It is parsed without a token tree: a scan of the text finds each
/// entry's extent and its <c>EventType</c>; the types that make up nearly all of a long history are read with
/// System.Text.Json's reader (<see cref="FastEvent"/>), every other entry is deserialized by Newtonsoft straight into
/// its class from that part of the string. (Building a <c>JArray</c> first and converting each entry with <c>ToObject</c> took
/// about 580 of the 800 ms of a replay benchmark.) Text the scan or the typed read does not accept (comments, escaped or
/// duplicate <c>EventType</c> keys, an entry that is not an object, an unknown event type, malformed JSON) goes through
/// the token-tree path, which reads it or reports the error as before.
/// </remarks>
public static class HistoryJson
{
    private static readonly JsonSerializerSettings BaseSettings = new()
    {
        TypeNameHandling = TypeNameHandling.None,
        MetadataPropertyHandling = MetadataPropertyHandling.Ignore,
        DateParseHandling = DateParseHandling.DateTime,
        DateTimeZoneHandling = DateTimeZoneHandling.Utc,
        ConstructorHandling = ConstructorHandling.AllowNonPublicDefaultConstructor,
    };

    private static readonly JsonSerializer Serializer = JsonSerializer.Create(BaseSettings);

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
        var entries = HistoryScanner.Scan(json);
        if (entries == null) return ParseTree(json);
        var events = new List<HistoryEvent>(entries.Count);
        var buffer = Array.Empty<byte>();
        try
        {
            foreach (var entry in entries)
            {
                // An entry this path cannot read (an unknown event type, a value of the wrong kind) sends the whole text
                // through the token-tree path, so that the error reported is the one it always was.
                if (!Types.TryGetValue(entry.EventType, out var type)) return ParseTree(json);
                var e = FastEvent.Handles(entry.EventType) ? FastEvent.TryRead(json, entry, ref buffer) : null;
                e ??= Deserialize(json, entry, type);
                if (e == null) return ParseTree(json);
                events.Add(e);
            }
        }
        finally
        {
            if (buffer.Length > 0) System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return events;
    }

    private static HistoryEvent? Deserialize(string json, HistoryScanner.Entry entry, Type type)
    {
        try
        {
            using var reader = new JsonTextReader(new StringSegmentReader(json, entry.Start, entry.Length));
            return Serializer.Deserialize(reader, type) as HistoryEvent;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidCastException or ArgumentException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>
    /// The token-tree parse: every entry becomes a <see cref="JObject"/> first. Kept for text the scan does not accept, so
    /// that such text is read (or refused, with the same exception) as before.
    /// </summary>
    internal static IList<HistoryEvent> ParseTree(string json)
    {
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

    /// <summary>A <see cref="TextReader"/> over part of a string, without copying it.</summary>
    private sealed class StringSegmentReader(string text, int start, int length) : TextReader
    {
        private int _position = start;
        private readonly int _end = start + length;

        public override int Peek() => _position < _end ? text[_position] : -1;

        public override int Read() => _position < _end ? text[_position++] : -1;

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read(Span<char> buffer)
        {
            var n = Math.Min(buffer.Length, _end - _position);
            if (n <= 0) return 0;
            text.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }
    }
}

/// <summary>
/// Finds the entries of a history array and each entry's <c>EventType</c> in one pass over the text, without building
/// tokens. Returns null for anything but the plain form providers write (an array of objects, each with exactly one
/// <c>EventType</c> key spelled so, holding an integer or a plain string), so that the caller falls back to the
/// token-tree parse.
/// </summary>
internal static class HistoryScanner
{
    /// <summary>One entry: where its object starts in the text, its length, and its event type.</summary>
    internal readonly record struct Entry(int Start, int Length, EventType EventType);

    public static List<Entry>? Scan(string s)
    {
        var entries = new List<Entry>(Math.Max(4, s.Length / 256));
        var i = SkipWhitespace(s, 0);
        if (i >= s.Length || s[i] != '[') return null;
        i = SkipWhitespace(s, i + 1);
        if (i < s.Length && s[i] == ']') return SkipWhitespace(s, i + 1) == s.Length ? entries : null;
        while (true)
        {
            if (i >= s.Length || s[i] != '{') return null;
            var start = i;
            if (!ScanObject(s, ref i, out var eventType)) return null;
            entries.Add(new Entry(start, i - start, eventType));
            i = SkipWhitespace(s, i);
            if (i >= s.Length) return null;
            if (s[i] == ']') return SkipWhitespace(s, i + 1) == s.Length ? entries : null;
            if (s[i] != ',') return null;
            i = SkipWhitespace(s, i + 1);
        }
    }

    /// <summary>Scans one top-level entry from its '{' to just past its '}', reading its EventType key.</summary>
    private static bool ScanObject(string s, ref int i, out EventType eventType)
    {
        eventType = default;
        var found = false;
        var depth = 0;
        var expectKey = false; // at depth 1, the next string is a key
        while (i < s.Length)
        {
            var c = s[i];
            switch (c)
            {
                case '{':
                    depth++;
                    expectKey = depth == 1;
                    i++;
                    break;
                case '[':
                    depth++;
                    expectKey = false;
                    i++;
                    break;
                case '}':
                case ']':
                    depth--;
                    i++;
                    if (depth == 0) return c == '}' && found;
                    if (depth < 0) return false;
                    break;
                case ',':
                    expectKey = depth == 1;
                    i++;
                    break;
                case '"':
                    var keyStart = i + 1;
                    if (!SkipString(s, ref i, out var escaped)) return false;
                    if (!(expectKey && depth == 1)) break;
                    expectKey = false;
                    var key = s.AsSpan(keyStart, i - 1 - keyStart);
                    if (escaped || key.Equals("EventType", StringComparison.OrdinalIgnoreCase))
                    {
                        // An escaped key might spell EventType; a key in another case is matched by the token-tree
                        // path's case-insensitive lookup; a second EventType key is ambiguous: all go there.
                        if (escaped || found || !key.SequenceEqual("EventType")) return false;
                        i = SkipWhitespace(s, i);
                        if (i >= s.Length || s[i] != ':') return false;
                        i = SkipWhitespace(s, i + 1);
                        if (!ReadEventType(s, ref i, out eventType)) return false;
                        found = true;
                    }
                    break;
                case ' ' or '\t' or '\r' or '\n' or ':':
                    i++;
                    break;
                default:
                    // A number, true, false or null: any other character (a comment, say) is not plain JSON.
                    if (!(c is '-' or '+' or '.' or (>= '0' and <= '9') or (>= 'a' and <= 'z') or (>= 'A' and <= 'Z'))) return false;
                    i++;
                    break;
            }
        }
        return false;
    }

    /// <summary>An integer (as JSON writes an enum) or a plain string naming the event type.</summary>
    private static bool ReadEventType(string s, ref int i, out EventType eventType)
    {
        eventType = default;
        if (i < s.Length && s[i] == '"')
        {
            var start = i + 1;
            if (!SkipString(s, ref i, out var escaped) || escaped) return false;
            var name = s.AsSpan(start, i - 1 - start);
            // Only names: a number in a string or a list of flags goes the token-tree way (Enum.Parse rules).
            if (name.Length == 0 || !char.IsLetter(name[0]) || name.ContainsAny(", ")) return false;
            return Enum.TryParse(name, ignoreCase: true, out eventType);
        }
        var digits = i;
        if (digits < s.Length && s[digits] == '-') digits++;
        var end = digits;
        while (end < s.Length && s[end] is >= '0' and <= '9') end++;
        if (end == digits || end - i > 10 || (end < s.Length && s[end] is '.' or 'e' or 'E')) return false;
        if (!int.TryParse(s.AsSpan(i, end - i), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value))
            return false;
        eventType = (EventType)value;
        i = end;
        return true;
    }

    /// <summary>From an opening quote to just past the closing one; reports whether the string holds escapes.</summary>
    private static bool SkipString(string s, ref int i, out bool escaped)
    {
        escaped = false;
        i++;
        while (true)
        {
            var rest = s.AsSpan(i);
            var k = rest.IndexOfAny('"', '\\');
            if (k < 0) return false;
            i += k;
            if (s[i] == '"')
            {
                i++;
                return true;
            }
            escaped = true;
            i += 2; // the backslash and the escaped character (\uXXXX's digits are plain characters)
        }
    }

    private static int SkipWhitespace(string s, int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t' or '\r' or '\n') i++;
        return i;
    }
}

/// <summary>
/// Reads the four event types that make up nearly all of a long history (a turn's OrchestratorStarted and
/// OrchestratorCompleted, an activity's TaskScheduled and TaskCompleted), and a plain ExecutionStarted and
/// ExecutionCompleted (so that a history of these types does not load and warm up Newtonsoft at all: a single entry read
/// by Newtonsoft cost about 140 ms in a fresh process), with <see cref="System.Text.Json.Utf8JsonReader"/>,
/// which is precompiled in the shared framework: a fresh process (a worker replaying an instance it does not have in
/// memory) otherwise spends most of the parse running Newtonsoft's not-yet-optimized code. Only the plain form is read
/// here: the properties DTFx writes for the type, each at most as Newtonsoft would read it (strings or null, integers,
/// booleans, UTC dates in ISO form, tags of string values, no trace context); anything else returns null and the entry goes through
/// Newtonsoft, so both give the same event (the tests compare them on every form).
/// </summary>
internal static class FastEvent
{
    public static bool Handles(EventType type) =>
        type is EventType.OrchestratorStarted or EventType.OrchestratorCompleted or EventType.TaskScheduled or EventType.TaskCompleted
            or EventType.ExecutionStarted or EventType.ExecutionCompleted;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static HistoryEvent? TryRead(string json, HistoryScanner.Entry entry, ref byte[] buffer)
    {
        var chars = json.AsSpan(entry.Start, entry.Length);
        var max = System.Text.Encoding.UTF8.GetMaxByteCount(chars.Length);
        if (buffer.Length < max)
        {
            if (buffer.Length > 0) System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(max, 4096));
        }
        var length = System.Text.Encoding.UTF8.GetBytes(chars, buffer);
        return Read(buffer.AsSpan(0, length), entry.EventType);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static HistoryEvent? Read(ReadOnlySpan<byte> utf8, EventType type)
    {
        var reader = new System.Text.Json.Utf8JsonReader(utf8);
        if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.StartObject) return null;
        int? eventId = null, taskScheduledId = null;
        bool? isPlayed = null;
        DateTime? timestamp = null;
        string? name = null, version = null, input = null, result = null, correlation = null;
        bool hasName = false, hasVersion = false, hasInput = false, hasResult = false, hasCorrelation = false;
        bool? generateNewTrace = null;
        Dictionary<string, string>? tags = null;
        OrchestrationInstance? instance = null;
        var started = type == EventType.ExecutionStarted;
        var scheduled = type == EventType.TaskScheduled || started;
        var ended = type == EventType.ExecutionCompleted;
        var completed = type == EventType.TaskCompleted || ended;
        int? status = null;
        while (reader.Read())
        {
            if (reader.TokenType == System.Text.Json.JsonTokenType.EndObject) break;
            if (reader.TokenType != System.Text.Json.JsonTokenType.PropertyName || reader.ValueIsEscaped) return null;
            var property = reader.ValueSpan;
            if (!reader.Read()) return null;
            var token = reader.TokenType;
            if (property.SequenceEqual("$type"u8) || property.SequenceEqual("EventType"u8))
            {
                // A type name (ignored, as Newtonsoft ignores it here) and the type the scan already read.
                if (token is not (System.Text.Json.JsonTokenType.String or System.Text.Json.JsonTokenType.Number)) return null;
            }
            else if (property.SequenceEqual("EventId"u8))
            {
                if (token != System.Text.Json.JsonTokenType.Number || !reader.TryGetInt32(out var v)) return null;
                eventId = v;
            }
            else if (property.SequenceEqual("IsPlayed"u8))
            {
                if (token is not (System.Text.Json.JsonTokenType.True or System.Text.Json.JsonTokenType.False)) return null;
                isPlayed = token == System.Text.Json.JsonTokenType.True;
            }
            else if (property.SequenceEqual("Timestamp"u8))
            {
                if (!TryReadUtcDate(ref reader, out var t)) return null;
                timestamp = t;
            }
            else if (scheduled && property.SequenceEqual("Name"u8))
            {
                if (!TryReadString(ref reader, out name)) return null;
                hasName = true;
            }
            else if (scheduled && property.SequenceEqual("Version"u8))
            {
                if (!TryReadString(ref reader, out version)) return null;
                hasVersion = true;
            }
            else if (scheduled && property.SequenceEqual("Input"u8))
            {
                if (!TryReadString(ref reader, out input)) return null;
                hasInput = true;
            }
            else if (scheduled && property.SequenceEqual("Tags"u8))
            {
                if (!TryReadTags(ref reader, out tags)) return null;
            }
            else if (scheduled && property.SequenceEqual("ParentTraceContext"u8))
            {
                if (token != System.Text.Json.JsonTokenType.Null) return null;
            }
            else if (started && (property.SequenceEqual("ParentInstance"u8) || property.SequenceEqual("ScheduledStartTime"u8) || property.SequenceEqual("Generation"u8)))
            {
                if (token != System.Text.Json.JsonTokenType.Null) return null;
            }
            else if (started && property.SequenceEqual("Correlation"u8))
            {
                if (!TryReadString(ref reader, out correlation)) return null;
                hasCorrelation = true;
            }
            else if (started && property.SequenceEqual("GenerateNewTrace"u8))
            {
                if (token is not (System.Text.Json.JsonTokenType.True or System.Text.Json.JsonTokenType.False)) return null;
                generateNewTrace = token == System.Text.Json.JsonTokenType.True;
            }
            else if (started && property.SequenceEqual("OrchestrationInstance"u8))
            {
                if (!TryReadInstance(ref reader, out instance)) return null;
            }
            else if (ended && property.SequenceEqual("OrchestrationStatus"u8))
            {
                if (token != System.Text.Json.JsonTokenType.Number || !reader.TryGetInt32(out var v)) return null;
                status = v;
            }
            else if (ended && property.SequenceEqual("FailureDetails"u8))
            {
                if (token != System.Text.Json.JsonTokenType.Null) return null;
            }
            else if (completed && !ended && property.SequenceEqual("TaskScheduledId"u8))
            {
                if (token != System.Text.Json.JsonTokenType.Number || !reader.TryGetInt32(out var v)) return null;
                taskScheduledId = v;
            }
            else if (completed && property.SequenceEqual("Result"u8))
            {
                if (!TryReadString(ref reader, out result)) return null;
                hasResult = true;
            }
            else
            {
                return null; // a property this reader does not know (a newer DTFx, another spelling): Newtonsoft reads it
            }
        }
        if (reader.TokenType != System.Text.Json.JsonTokenType.EndObject || reader.BytesConsumed != utf8.Length) return null;
        if (eventId is not { } id || isPlayed is not { } played || timestamp is not { } time) return null;
        HistoryEvent e;
        switch (type)
        {
            case EventType.TaskScheduled when hasName && name is { } taskName && hasVersion && hasInput:
                e = new TaskScheduledEvent(id, taskName, version, input) { Tags = tags };
                break;
            case EventType.TaskCompleted when taskScheduledId is { } scheduledId && hasResult:
                e = new TaskCompletedEvent(id, scheduledId, result);
                break;
            case EventType.ExecutionStarted when hasName && hasVersion && hasInput && hasCorrelation && instance != null && generateNewTrace is { } newTrace:
                e = new ExecutionStartedEvent(id, input)
                {
                    OrchestrationInstance = instance, Name = name, Version = version, Correlation = correlation, GenerateNewTrace = newTrace, Tags = tags,
                };
                break;
            case EventType.ExecutionCompleted when status is { } s && hasResult:
                e = new ExecutionCompletedEvent(id, result, (OrchestrationStatus)s);
                break;
            case EventType.OrchestratorStarted:
                e = new OrchestratorStartedEvent(id);
                break;
            case EventType.OrchestratorCompleted:
                e = new OrchestratorCompletedEvent(id);
                break;
            default:
                return null;
        }
        e.IsPlayed = played;
        e.Timestamp = time;
        return e;
    }

    /// <summary>
    /// Null, or an object of string values, read as Newtonsoft reads it into the tags dictionary here: every property
    /// becomes an entry, the <c>$type</c> the SQLite provider writes included (metadata is not interpreted), the last of
    /// repeated names wins.
    /// </summary>
    private static bool TryReadTags(ref System.Text.Json.Utf8JsonReader reader, out Dictionary<string, string>? tags)
    {
        tags = null;
        if (reader.TokenType == System.Text.Json.JsonTokenType.Null) return true;
        if (reader.TokenType != System.Text.Json.JsonTokenType.StartObject) return false;
        tags = new Dictionary<string, string>();
        while (reader.Read() && reader.TokenType != System.Text.Json.JsonTokenType.EndObject)
        {
            if (reader.TokenType != System.Text.Json.JsonTokenType.PropertyName) return false;
            var key = reader.GetString()!;
            if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.String) return false;
            tags[key] = reader.GetString()!;
        }
        return reader.TokenType == System.Text.Json.JsonTokenType.EndObject;
    }

    /// <summary>An instance id and execution id (and nothing else but a type name), or false.</summary>
    private static bool TryReadInstance(ref System.Text.Json.Utf8JsonReader reader, out OrchestrationInstance? instance)
    {
        instance = null;
        if (reader.TokenType != System.Text.Json.JsonTokenType.StartObject) return false;
        string? instanceId = null, executionId = null;
        bool hasId = false, hasExecution = false;
        while (reader.Read() && reader.TokenType != System.Text.Json.JsonTokenType.EndObject)
        {
            if (reader.TokenType != System.Text.Json.JsonTokenType.PropertyName || reader.ValueIsEscaped) return false;
            var property = reader.ValueSpan;
            if (!reader.Read()) return false;
            if (property.SequenceEqual("$type"u8))
            {
                if (reader.TokenType != System.Text.Json.JsonTokenType.String) return false;
            }
            else if (property.SequenceEqual("InstanceId"u8))
            {
                if (!TryReadString(ref reader, out instanceId)) return false;
                hasId = true;
            }
            else if (property.SequenceEqual("ExecutionId"u8))
            {
                if (!TryReadString(ref reader, out executionId)) return false;
                hasExecution = true;
            }
            else
            {
                return false;
            }
        }
        if (reader.TokenType != System.Text.Json.JsonTokenType.EndObject || !hasId || !hasExecution) return false;
        instance = new OrchestrationInstance { InstanceId = instanceId, ExecutionId = executionId };
        return true;
    }

    private static bool TryReadString(ref System.Text.Json.Utf8JsonReader reader, out string? value)
    {
        value = null;
        switch (reader.TokenType)
        {
            case System.Text.Json.JsonTokenType.Null:
                return true;
            case System.Text.Json.JsonTokenType.String:
                value = reader.GetString();
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Only the form DTFx's UTC timestamps take, "yyyy-MM-ddTHH:mm:ss[.fffffff]Z", read to the same ticks and kind as
    /// Newtonsoft reads it; any other form (an offset, no zone, more digits) is left to Newtonsoft.
    /// </summary>
    private static bool TryReadUtcDate(ref System.Text.Json.Utf8JsonReader reader, out DateTime value)
    {
        value = default;
        if (reader.TokenType != System.Text.Json.JsonTokenType.String || reader.ValueIsEscaped) return false;
        var text = reader.ValueSpan;
        if (text.Length is < 20 or > 28 || text[^1] != (byte)'Z' || text[10] != (byte)'T') return false;
        if (text.Length > 20 && text[19] != (byte)'.') return false;
        if (!reader.TryGetDateTime(out value) || value.Kind != DateTimeKind.Utc) return false;
        return true;
    }
}

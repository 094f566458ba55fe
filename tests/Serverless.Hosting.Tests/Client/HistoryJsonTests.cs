using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Tracing;
using Newtonsoft.Json;
using Serverless.Hosting.Client;

namespace Serverless.Hosting.Tests;

/// <summary>
/// <see cref="HistoryJson.Parse"/> reads history text in one streaming pass; <see cref="HistoryJson.ParseTree"/> is the
/// token-tree parse it replaced (and falls back to). Both must give the same events, field for field (dates with their
/// kind), for every event type, in the form each provider writes: the Azure Storage provider serializes the event list
/// with Newtonsoft's defaults (no type names), the SQLite provider stores DTFx's own form (<c>$type</c> on every object,
/// dates in UTC). The conformance suite checks the same on the text the real providers return.
/// </summary>
public sealed class HistoryJsonTests
{
    private static readonly DateTime T0 = new(2026, 12, 3, 3, 40, 1, 234, DateTimeKind.Utc);

    /// <summary>The events compared as JSON with their types and dates' kinds, so that any difference shows.</summary>
    private static string Canonical(IEnumerable<HistoryEvent> events) =>
        JsonConvert.SerializeObject(events.ToList(), new JsonSerializerSettings
        {
            TypeNameHandling = TypeNameHandling.Objects,
            DateTimeZoneHandling = DateTimeZoneHandling.RoundtripKind,
            Formatting = Formatting.Indented,
        });

    /// <summary>Asserts that the streaming parse of <paramref name="json"/> equals the token-tree parse.</summary>
    internal static void AssertSameAsTreeParse(string? json)
    {
        var streamed = HistoryJson.Parse(json);
        var tree = string.IsNullOrWhiteSpace(json) ? [] : HistoryJson.ParseTree(json);
        Assert.Equal(Canonical(tree), Canonical(streamed));
    }

    private static FailureDetails Failure() =>
        new("System.InvalidOperationException", "outer \"quoted\" } { [ ]", "at X.Y()\n at Z()",
            new FailureDetails("System.IO.IOException", "inner", null, null, isNonRetriable: true), isNonRetriable: false,
            new Dictionary<string, object?> { ["code"] = 7, ["text"] = "t", ["flag"] = true });

    /// <summary>
    /// One event of every type DTFx defines and a provider writes, with every field a provider stores set. Not here:
    /// <c>ExecutionFailed</c> (no class) and <c>ExecutionRewound</c> (rewind is supported by neither provider, and
    /// Newtonsoft cannot create the class: <see cref="RewoundEvent_FailsAsTheTreeParseFails"/>).
    /// </summary>
    internal static List<HistoryEvent> EveryEventType()
    {
        var parent = new ParentInstance
        {
            Name = "Parent",
            Version = "1",
            TaskScheduleId = 4,
            OrchestrationInstance = new OrchestrationInstance { InstanceId = "parent-id", ExecutionId = "parent-exec" },
        };
        var trace = new DistributedTraceContext("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "k=v");
        var events = new List<HistoryEvent>
        {
            new ExecutionStartedEvent(-1, "\"input with \\\"EventType\\\": 5\"")
            {
                Name = "Orch", Version = "2", ParentInstance = parent, Generation = 3,
                OrchestrationInstance = new OrchestrationInstance { InstanceId = "id-1", ExecutionId = "exec-1" },
                Tags = new Dictionary<string, string> { ["team"] = "ml", ["empty"] = "" },
                ScheduledStartTime = T0.AddMinutes(5), Correlation = "corr", ParentTraceContext = trace,
            },
            new OrchestratorStartedEvent(-1),
            new TaskScheduledEvent(0, "Activity", "1.0", "[1,2,3]") { Tags = new Dictionary<string, string> { ["a"] = "b" }, ParentTraceContext = trace },
            new TaskCompletedEvent(-1, 0, "{\"x\":{\"y\":[1,{\"z\":null}]}}"),
            new TaskFailedEvent(-1, 0, "reason", "details", Failure()),
            new SubOrchestrationInstanceCreatedEvent(1) { Name = "Child", Version = "v", InstanceId = "child-1", Input = "42", ClientSpanId = "span" },
            new SubOrchestrationInstanceCompletedEvent(-1, 1, "\"done\""),
            new SubOrchestrationInstanceFailedEvent(-1, 1, "child failed", "child details", Failure()),
            new TimerCreatedEvent(2, T0.AddHours(1)),
            new TimerFiredEvent(-1, T0.AddHours(1)) { TimerId = 2 },
            new EventSentEvent(3) { InstanceId = "other", Name = "Ping", Input = "\"p\"" },
            new EventRaisedEvent(-1, "\"payload\"") { Name = "Approval" },
            new GenericEvent(-1, "generic data"),
            new ExecutionSuspendedEvent(-1, "suspend reason"),
            new ExecutionResumedEvent(-1, "resume reason"),
            new ExecutionTerminatedEvent(-1, "\"terminated\""),
            new ContinueAsNewEvent(-1, "\"next input\""),
            new HistoryStateEvent(-1, new OrchestrationState
            {
                Name = "Orch", Status = "custom", Input = "1", Output = "2", OrchestrationStatus = OrchestrationStatus.Running,
                OrchestrationInstance = new OrchestrationInstance { InstanceId = "id-1", ExecutionId = "exec-1" },
                CreatedTime = T0, LastUpdatedTime = T0.AddSeconds(1), CompletedTime = T0.AddSeconds(2),
            }),
            new OrchestratorCompletedEvent(-1),
            new ExecutionCompletedEvent(-1, "\"result\"", OrchestrationStatus.Failed, Failure()),
        };
        for (var i = 0; i < events.Count; i++) events[i].Timestamp = T0.AddMilliseconds(i);
        return events;
    }

    [Fact]
    public void EveryEventType_IsCoveredByTheSample()
    {
        var covered = EveryEventType().Select(e => e.EventType).ToHashSet();
        var missing = Enum.GetValues<EventType>()
            .Where(t => !covered.Contains(t) && t is not (EventType.ExecutionFailed or EventType.ExecutionRewound)).ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void AzureStorageForm_EveryEventType_SameAsTreeParse()
    {
        var events = EveryEventType();
        var json = JsonConvert.SerializeObject(events); // what the Azure Storage provider returns
        AssertSameAsTreeParse(json);
        var parsed = HistoryJson.Parse(json);
        Assert.Equal(events.Select(e => e.GetType()), parsed.Select(e => e.GetType()));
        Assert.Equal(events.Select(e => e.Timestamp), parsed.Select(e => e.Timestamp));
        Assert.All(parsed, e => Assert.Equal(DateTimeKind.Utc, e.Timestamp.Kind));
        var failed = parsed.OfType<ExecutionCompletedEvent>().Single(e => e.EventType == EventType.ExecutionCompleted).FailureDetails!;
        Assert.Equal("outer \"quoted\" } { [ ]", failed.ErrorMessage);
        Assert.Equal("inner", failed.InnerFailure!.ErrorMessage);
        Assert.Equal("\"input with \\\"EventType\\\": 5\"", parsed.OfType<ExecutionStartedEvent>().Single().Input);
        Assert.Equal("ml", parsed.OfType<ExecutionStartedEvent>().Single().Tags["team"]);
    }

    [Fact]
    public void SqliteForm_EveryEventType_SameAsTreeParse()
    {
        // DtfxJson of the SQLite provider: $type on every object, UTC dates; its history text is the stored rows joined.
        var settings = new JsonSerializerSettings { TypeNameHandling = TypeNameHandling.Objects, DateParseHandling = DateParseHandling.None, DateTimeZoneHandling = DateTimeZoneHandling.Utc };
        var rows = EveryEventType().Select(e => JsonConvert.SerializeObject(e, settings));
        var json = "[" + string.Join(",", rows) + "]";
        Assert.Contains("\"$type\"", json);
        AssertSameAsTreeParse(json);
        Assert.Equal(EveryEventType().Count, HistoryJson.Parse(json).Count);
    }

    [Fact]
    public void IndentedText_WithEventTypeNamesInsteadOfNumbers_SameAsTreeParse()
    {
        var json = JsonConvert.SerializeObject(EveryEventType(), Formatting.Indented, new Newtonsoft.Json.Converters.StringEnumConverter());
        Assert.Contains("\"EventType\": \"TaskScheduled\"", json);
        AssertSameAsTreeParse(json);
    }

    [Fact]
    public void DatesWithoutZoneOrWithOffset_AreReadAsUtcAsTheTreeParseReadThem()
    {
        var json = """
            [ {"EventType":10,"EventId":2,"FireAt":"2026-12-03T04:00:00","Timestamp":"2026-12-03T04:00:00+02:00"},
              {"EventType":11,"EventId":-1,"TimerId":2,"FireAt":"2026-12-03T04:00:00.1234567Z","Timestamp":"2026-12-03T04:00:00Z"} ]
            """;
        AssertSameAsTreeParse(json);
        var timer = (TimerCreatedEvent)HistoryJson.Parse(json)[0];
        Assert.Equal(new DateTime(2026, 12, 3, 4, 0, 0, DateTimeKind.Utc), timer.FireAt);
        Assert.Equal(new DateTime(2026, 12, 3, 2, 0, 0, DateTimeKind.Utc), timer.Timestamp);
    }

    [Fact]
    public void ManyEvents_SameAsTreeParse()
    {
        var events = new List<HistoryEvent> { new ExecutionStartedEvent(-1, "0") { Name = "FanOut", OrchestrationInstance = new OrchestrationInstance { InstanceId = "f", ExecutionId = "e" } } };
        for (var i = 0; i < 3000; i++)
        {
            events.Add(new TaskScheduledEvent(i, "Inc", null, i.ToString(System.Globalization.CultureInfo.InvariantCulture)) { Timestamp = T0 });
            events.Add(new TaskCompletedEvent(-1, i, (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)) { Timestamp = T0 });
        }
        var json = JsonConvert.SerializeObject(events);
        AssertSameAsTreeParse(json);
        Assert.Equal(6001, HistoryJson.Parse(json).Count);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  \n ")]
    [InlineData("[]")]
    [InlineData(" [ ] ")]
    public void EmptyText_GivesNoEvents(string? json) => Assert.Empty(HistoryJson.Parse(json));

    [Theory]
    // Forms only the token-tree path reads: a key in another case, a comment, an escaped key, a number in a string.
    [InlineData("""[{"eventType":12,"EventId":-1,"Timestamp":"2026-12-03T04:00:00Z"}]""")]
    [InlineData("""[/* c */{"EventType":12,"EventId":-1,"Timestamp":"2026-12-03T04:00:00Z"}]""")]
    [InlineData("""[{"Event\u0054ype":12,"EventId":-1,"Timestamp":"2026-12-03T04:00:00Z"}]""")]
    [InlineData("""[{"EventType":"12","EventId":-1,"Timestamp":"2026-12-03T04:00:00Z"}]""")]
    [InlineData("""[{"$type":"DurableTask.Core.History.OrchestratorStartedEvent, DurableTask.Core","EventType":12,"EventId":-1,"IsPlayed":true,"Timestamp":"2026-12-03T04:00:00.1Z"}]""")]
    public void UnusualButValidText_SameAsTreeParse(string json)
    {
        AssertSameAsTreeParse(json);
        Assert.IsType<OrchestratorStartedEvent>(Assert.Single(HistoryJson.Parse(json)));
    }

    [Theory]
    [InlineData("""[{"EventType":99}]""", typeof(FormatException))]
    [InlineData("""[{"EventId":1}]""", typeof(FormatException))]
    [InlineData("""[1]""", typeof(FormatException))]
    [InlineData("""[{"EventType":12,"EventId":"x"}]""", typeof(JsonReaderException))]
    [InlineData("""[{"EventType":12,"EventId":-1}""", typeof(JsonReaderException))]
    [InlineData("""{"EventType":12}""", typeof(JsonReaderException))]
    public void BadText_FailsAsTheTreeParseFails(string json, Type exception)
    {
        var tree = Assert.Throws(exception, () => HistoryJson.ParseTree(json));
        var streamed = Assert.Throws(exception, () => HistoryJson.Parse(json));
        Assert.Equal(tree.Message, streamed.Message);
    }

    [Theory]
    // The four types the fast reader takes, in forms it reads and forms it leaves to Newtonsoft.
    [InlineData("""{"EventType":4,"Name":"Inc","Version":"1.0","Input":"\"x\\u00e9\\n\"","ParentTraceContext":null,"Tags":null,"EventId":7,"IsPlayed":true,"Timestamp":"2026-12-03T04:00:00.1234567Z"}""", true)]
    [InlineData("""{"$type":"DurableTask.Core.History.TaskScheduledEvent, DurableTask.Core","EventType":4,"Name":"Inc","Version":null,"Input":null,"ParentTraceContext":null,"Tags":null,"EventId":0,"IsPlayed":false,"Timestamp":"2026-12-03T04:00:00Z"}""", true)]
    [InlineData("""{"EventType":5,"TaskScheduledId":3,"Result":null,"EventId":-1,"IsPlayed":false,"Timestamp":"2026-12-03T04:00:00.5Z"}""", true)]
    [InlineData("""{"EventType":5,"TaskScheduledId":3,"Result":"ü","EventId":-1,"IsPlayed":false,"Timestamp":"2026-12-03T04:00:00.5Z"}""", true)]
    [InlineData("""{"EventType":12,"EventId":-1,"IsPlayed":false,"Timestamp":"2026-12-03T04:00:00.1234567Z"}""", true)]
    [InlineData("""{"EventType":13,"EventId":-1,"IsPlayed":true,"Timestamp":"2026-12-03T04:00:00.1234567Z"}""", true)]
    [InlineData("""{"EventType":4,"Name":"Inc","Version":null,"Input":"1","ParentTraceContext":null,"Tags":{"a":"b","a":"c","\u0041":"d"},"EventId":0,"IsPlayed":false,"Timestamp":"2026-12-03T04:00:00Z"}""", true)]
    [InlineData("""{"$type":"DurableTask.Core.History.TaskScheduledEvent, DurableTask.Core","EventType":4,"Name":"Inc","Version":"","Input":null,"ParentTraceContext":null,"Tags":{"$type":"System.Collections.Generic.Dictionary`2[[System.String, System.Private.CoreLib],[System.String, System.Private.CoreLib]], System.Private.CoreLib"},"EventId":0,"IsPlayed":false,"Timestamp":"2026-12-03T04:11:25.8104815Z"}""", true)]
    [InlineData("""{"EventType":4,"Name":"Inc","Version":null,"Input":"1","ParentTraceContext":null,"Tags":{"a":1},"EventId":0,"IsPlayed":false,"Timestamp":"2026-12-03T04:00:00Z"}""", false)]
    [InlineData("""{"EventType":4,"Name":"Inc","Version":null,"Input":"1","ParentTraceContext":{"TraceParent":"x"},"Tags":null,"EventId":0,"IsPlayed":false,"Timestamp":"2026-12-03T04:00:00Z"}""", false)]
    [InlineData("""{"EventType":4,"Name":null,"Version":null,"Input":"1","EventId":0,"IsPlayed":false,"Timestamp":"2026-12-03T04:00:00Z"}""", false)]
    [InlineData("""{"EventType":5,"TaskScheduledId":3,"Result":5,"EventId":-1,"IsPlayed":false,"Timestamp":"2026-12-03T04:00:00Z"}""", false)]
    [InlineData("""{"EventType":12,"EventId":-1,"IsPlayed":false,"Timestamp":"2026-12-03T06:00:00+02:00"}""", false)]
    [InlineData("""{"EventType":12,"EventId":-1,"IsPlayed":false,"Timestamp":"2026-12-03T04:00:00"}""", false)]
    [InlineData("""{"EventType":12,"EventId":-1,"IsPlayed":false,"Timestamp":"2026-12-03T04:00:00Z","Extra":1}""", false)]
    [InlineData("""{"EventType":12,"eventId":-1,"IsPlayed":false,"Timestamp":"2026-12-03T04:00:00Z"}""", false)]
    [InlineData("""{"EventType":12,"EventId":-1,"Timestamp":"2026-12-03T04:00:00Z"}""", false)]
    [InlineData("""{"$type":"DurableTask.Core.History.ExecutionStartedEvent, DurableTask.Core","OrchestrationInstance":{"$type":"DurableTask.Core.OrchestrationInstance, DurableTask.Core","InstanceId":"i","ExecutionId":"e"},"EventType":0,"ParentInstance":null,"Name":"FanOut","Version":null,"Input":"4995","Tags":null,"Correlation":null,"ParentTraceContext":null,"ScheduledStartTime":null,"Generation":null,"GenerateNewTrace":false,"EventId":-1,"IsPlayed":false,"Timestamp":"2026-12-03T03:56:59.165796Z"}""", true)]
    [InlineData("""{"OrchestrationInstance":{"InstanceId":"i","ExecutionId":null},"EventType":0,"ParentInstance":null,"Name":"O","Version":"2","Input":null,"Tags":null,"Correlation":"c","ParentTraceContext":null,"ScheduledStartTime":null,"Generation":null,"GenerateNewTrace":true,"EventId":-1,"IsPlayed":true,"Timestamp":"2026-12-03T03:56:59Z"}""", true)]
    [InlineData("""{"$type":"DurableTask.Core.History.ExecutionStartedEvent, DurableTask.Core","OrchestrationInstance":{"$type":"DurableTask.Core.OrchestrationInstance, DurableTask.Core","InstanceId":"7e6e","ExecutionId":"6af8"},"EventType":0,"ParentInstance":null,"Name":"FanOut","Version":"","Input":"1000","Tags":{"$type":"System.Collections.Generic.Dictionary`2[[System.String, System.Private.CoreLib],[System.String, System.Private.CoreLib]], System.Private.CoreLib","MS_Entities_RequestTime":"12/03/2026 04:11:25 +00:00"},"Correlation":null,"ParentTraceContext":null,"ScheduledStartTime":null,"Generation":null,"GenerateNewTrace":false,"EventId":-1,"IsPlayed":true,"Timestamp":"2026-12-03T04:11:25.8040439Z"}""", true)]
    [InlineData("""{"OrchestrationInstance":{"InstanceId":"i","ExecutionId":"e"},"EventType":0,"ParentInstance":null,"Name":"O","Version":null,"Input":"1","Tags":null,"Correlation":null,"ParentTraceContext":null,"ScheduledStartTime":"2026-12-03T03:56:59Z","Generation":null,"GenerateNewTrace":false,"EventId":-1,"IsPlayed":false,"Timestamp":"2026-12-03T03:56:59Z"}""", false)]
    [InlineData("""{"OrchestrationInstance":{"InstanceId":"i","ExecutionId":"e","Extra":1},"EventType":0,"ParentInstance":null,"Name":"O","Version":null,"Input":"1","Tags":null,"Correlation":null,"ParentTraceContext":null,"ScheduledStartTime":null,"Generation":null,"GenerateNewTrace":false,"EventId":-1,"IsPlayed":false,"Timestamp":"2026-12-03T03:56:59Z"}""", false)]
    [InlineData("""{"$type":"DurableTask.Core.History.ExecutionCompletedEvent, DurableTask.Core","EventType":1,"OrchestrationStatus":1,"Result":"1000","FailureDetails":null,"EventId":1000,"IsPlayed":false,"Timestamp":"2026-12-03T04:11:26.9276682Z"}""", true)]
    [InlineData("""{"EventType":1,"OrchestrationStatus":3,"Result":null,"FailureDetails":null,"EventId":7,"IsPlayed":true,"Timestamp":"2026-12-03T04:11:26Z"}""", true)]
    [InlineData("""{"EventType":1,"OrchestrationStatus":3,"Result":"x","FailureDetails":{"ErrorType":"E","ErrorMessage":"m"},"EventId":7,"IsPlayed":true,"Timestamp":"2026-12-03T04:11:26Z"}""", false)]
    [InlineData("""{"EventType":1,"OrchestrationStatus":1,"Result":"1","TaskScheduledId":3,"FailureDetails":null,"EventId":7,"IsPlayed":true,"Timestamp":"2026-12-03T04:11:26Z"}""", false)]
    public void CommonEventForms_SameAsTreeParse(string entry, bool readFast)
    {
        var json = "[" + entry + "]";
        AssertSameAsTreeParse(json);
        var scanned = Assert.Single(HistoryScanner.Scan(json)!);
        var buffer = Array.Empty<byte>();
        Assert.Equal(readFast, FastEvent.TryRead(json, scanned, ref buffer) != null);
    }

    [Fact]
    public void ProviderForms_AreReadByTheFastReader()
    {
        var events = new List<HistoryEvent>
        {
            new ExecutionStartedEvent(-1, "5") { Name = "FanOut", Timestamp = T0, OrchestrationInstance = new OrchestrationInstance { InstanceId = "i", ExecutionId = "e" } },
            new OrchestratorStartedEvent(-1) { Timestamp = T0 }, new TaskScheduledEvent(0, "Inc", null, "1") { Timestamp = T0 },
            new TaskCompletedEvent(-1, 0, "2") { Timestamp = T0 }, new OrchestratorCompletedEvent(-1) { Timestamp = T0 },
            new ExecutionCompletedEvent(5, "\"done\"", OrchestrationStatus.Completed) { Timestamp = T0 },
        };
        var sqlite = "[" + string.Join(",", events.Select(e => JsonConvert.SerializeObject(e, new JsonSerializerSettings { TypeNameHandling = TypeNameHandling.Objects, DateTimeZoneHandling = DateTimeZoneHandling.Utc }))) + "]";
        foreach (var json in new[] { JsonConvert.SerializeObject(events), sqlite })
        {
            var buffer = Array.Empty<byte>();
            Assert.All(HistoryScanner.Scan(json)!, entry => Assert.NotNull(FastEvent.TryRead(json, entry, ref buffer)));
            AssertSameAsTreeParse(json);
        }
    }

    [Fact]
    public void RewoundEvent_FailsAsTheTreeParseFails()
    {
        var json = JsonConvert.SerializeObject(new List<HistoryEvent> { new ExecutionRewoundEvent(-1, "r") });
        var tree = Assert.Throws<JsonSerializationException>(() => HistoryJson.ParseTree(json));
        Assert.Equal(tree.Message, Assert.Throws<JsonSerializationException>(() => HistoryJson.Parse(json)).Message);
    }

    [Fact]
    public void StringLookingLikeADate_IsKeptAsWritten()
    {
        // The token-tree parse read every date-shaped string as a DateTime first, so a tag value or a reason such as
        // "2026-12-03T00:00:00Z" came back as "12/03/2026 00:00:00"; the streaming parse keeps the text.
        var started = new ExecutionStartedEvent(-1, "1") { Name = "O", Tags = new Dictionary<string, string> { ["due"] = "2026-12-03T00:00:00Z" } };
        var json = JsonConvert.SerializeObject(new List<HistoryEvent> { started, new ExecutionSuspendedEvent(-1, "2026-12-03T00:00:00Z") });
        var parsed = HistoryJson.Parse(json);
        Assert.Equal("2026-12-03T00:00:00Z", ((ExecutionStartedEvent)parsed[0]).Tags["due"]);
        Assert.Equal("2026-12-03T00:00:00Z", ((ExecutionSuspendedEvent)parsed[1]).Reason);
        Assert.NotEqual("2026-12-03T00:00:00Z", ((ExecutionSuspendedEvent)HistoryJson.ParseTree(json)[1]).Reason);
    }
}

using DurableTask.Core;
using DurableTask.Core.History;
using Newtonsoft.Json;

namespace Serverless.DurableTask.Sqlite.Tests;

/// <summary>
/// The stored form of events and messages stays DTFx's own JSON, byte for byte: what Newtonsoft writes with
/// <c>TypeNameHandling.Objects</c> and its default ("Simple") assembly names. The provider's binder hands out those short
/// names itself (computed once per type) instead of letting Newtonsoft shorten the full names for every object.
/// </summary>
public sealed class DtfxJsonTests
{
    private static readonly JsonSerializerSettings Reference = new()
    {
        TypeNameHandling = TypeNameHandling.Objects,
        DateParseHandling = DateParseHandling.None,
        DateTimeZoneHandling = DateTimeZoneHandling.Utc,
    };

    private static readonly DateTime T0 = new(2026, 12, 3, 4, 0, 0, DateTimeKind.Utc);

    public static TheoryData<string> Objects => new(["started", "scheduled", "failed", "message", "state"]);

    private static object Create(string kind) => kind switch
    {
        "started" => new ExecutionStartedEvent(-1, "\"in\"")
        {
            Name = "O", Timestamp = T0, OrchestrationInstance = new OrchestrationInstance { InstanceId = "i", ExecutionId = "e" },
            Tags = new Dictionary<string, string> { ["k"] = "v" }, ScheduledStartTime = T0,
            ParentInstance = new ParentInstance { Name = "P", OrchestrationInstance = new OrchestrationInstance { InstanceId = "p" }, TaskScheduleId = 3 },
        },
        "scheduled" => new TaskScheduledEvent(4, "Inc", null, "1") { Timestamp = T0, Tags = new Dictionary<string, string> { ["a"] = "b" } },
        "failed" => new TaskFailedEvent(-1, 4, "r", "d",
            new FailureDetails("E", "m", "s", new FailureDetails("I", "n", null, null, true), false, new Dictionary<string, object?> { ["code"] = 7 })) { Timestamp = T0 },
        "message" => new TaskMessage
        {
            OrchestrationInstance = new OrchestrationInstance { InstanceId = "i", ExecutionId = "e" },
            Event = new TaskCompletedEvent(-1, 4, "2") { Timestamp = T0 },
            SequenceNumber = 5,
        },
        _ => new OrchestrationState
        {
            Name = "O", OrchestrationInstance = new OrchestrationInstance { InstanceId = "i" }, Tags = new Dictionary<string, string> { ["x"] = "y" },
            FailureDetails = new FailureDetails("E", "m", null, null, false), CreatedTime = T0,
        },
    };

    [Theory]
    [MemberData(nameof(Objects))]
    public void Serialize_WritesWhatNewtonsoftWritesWithItsDefaultTypeNames(string kind)
    {
        var value = Create(kind);
        var expected = JsonConvert.SerializeObject(value, Reference);

        var actual = DtfxJson.Serialize(value);

        Assert.Equal(expected, actual);
        Assert.Contains("\"$type\":\"", actual);
        Assert.DoesNotContain("Version=", actual);
    }

    [Fact]
    public void Serialize_GenericCollection_KeepsShortArgumentNames()
    {
        var tags = new Dictionary<string, string> { ["k"] = "v" };
        var json = DtfxJson.Serialize(tags);
        Assert.Equal(JsonConvert.SerializeObject(tags, Reference), json);
        Assert.Contains("System.Collections.Generic.Dictionary`2[[System.String, System.Private.CoreLib],[System.String, System.Private.CoreLib]], System.Private.CoreLib", json);
        Assert.Equal("v", DtfxJson.Deserialize<IDictionary<string, string>>(json)["k"]);
    }

    [Fact]
    public void Message_RoundTrips()
    {
        var message = (TaskMessage)Create("message");
        var back = DtfxJson.DeserializeMessage(DtfxJson.SerializeMessage(message));
        Assert.Equal("2", Assert.IsType<TaskCompletedEvent>(back.Event).Result);
        Assert.Equal("e", back.OrchestrationInstance.ExecutionId);
        Assert.Equal(DtfxJson.SerializeMessage(message), DtfxJson.SerializeMessage(back));
    }
}

using DurableTask.Core;

namespace Serverless.DurableTask.Sqlite.Tests;

/// <summary>
/// The durable patterns run by DTFx's TaskHubWorker on the provider, each with extended sessions on (the default) and
/// off (every turn replays the history loaded from the file).
/// </summary>
public sealed class OrchestrationTests
{
    private static Func<SqliteOrchestrationServiceSettings, SqliteOrchestrationServiceSettings> Sessions(bool on) => TestHub.Sessions(on);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Sequence_FiveActivities_ChainsResultsAndRunsEachActivityOnce(bool sessions)
    {
        await using var hub = await TestHub.StartAsync(Samples.Register, Sessions(sessions));
        var id = "seq-" + sessions;
        var state = await hub.RunAsync("Sequence", 5, id);

        Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
        Assert.Equal(5, TestHub.Output<int>(state));
        for (var i = 0; i < 5; i++) Assert.Equal(1, Samples.ActivityRuns[$"{id}:{i}"]);
        var history = await hub.Client.GetOrchestrationHistoryAsync(state.OrchestrationInstance);
        Assert.Equal(5, CountOccurrences(history, "TaskCompletedEvent"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task FanOut_TwoHundredActivities_SumsEveryResult(bool sessions)
    {
        await using var hub = await TestHub.StartAsync(Samples.Register, Sessions(sessions));
        var state = await hub.RunAsync("FanOut", 200);

        Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
        Assert.Equal(Enumerable.Range(0, 200).Sum(i => (long)i * i), TestHub.Output<long>(state));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DurableTimer_FiresNoEarlierThanItsTime(bool sessions)
    {
        await using var hub = await TestHub.StartAsync(Samples.Register, Sessions(sessions));
        var started = await hub.StartAsync("Timer", 400);
        var begin = DateTime.UtcNow;
        var state = await hub.WaitAsync(started);

        Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
        Assert.True(DateTime.UtcNow - begin >= TimeSpan.FromMilliseconds(350), "the timer fired early");
        var firedAt = DateTime.Parse(TestHub.Output<string>(state)["fired at ".Length..], System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.RoundtripKind);
        Assert.True(firedAt >= state.CreatedTime.AddMilliseconds(400), $"fired at {firedAt:O}, created {state.CreatedTime:O}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ExternalEvent_Raised_ResumesWithItsValue(bool sessions)
    {
        await using var hub = await TestHub.StartAsync(Samples.Register, Sessions(sessions));
        var instance = await hub.StartAsync("WaitEvent", "");
        await hub.WaitForAsync(instance.InstanceId, s => s.Status == "\"waiting\"");
        await hub.Client.RaiseEventAsync(instance, "go", "ahead");
        var state = await hub.WaitAsync(instance);

        Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
        Assert.Equal("got ahead", TestHub.Output<string>(state));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ExternalEventWithTimeout_NoEvent_TimesOut(bool sessions)
    {
        await using var hub = await TestHub.StartAsync(Samples.Register, Sessions(sessions));
        var state = await hub.RunAsync("WaitEventTimeout", 300);

        Assert.Equal("timed out", TestHub.Output<string>(state));
    }

    [Fact]
    public async Task ExternalEventWithTimeout_EventBeforeTimeout_ReturnsValue()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var instance = await hub.StartAsync("WaitEventTimeout", 30_000);
        await hub.WaitForAsync(instance.InstanceId, s => s.OrchestrationStatus == OrchestrationStatus.Running);
        await hub.Client.RaiseEventAsync(instance, "go", "in time");
        var state = await hub.WaitAsync(instance);

        Assert.Equal("got in time", TestHub.Output<string>(state));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SubOrchestration_ChildCompletes_ParentGetsItsOutput(bool sessions)
    {
        await using var hub = await TestHub.StartAsync(Samples.Register, Sessions(sessions));
        var id = "parent-" + sessions;
        var state = await hub.RunAsync("Parent", 3, id);

        Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
        Assert.Equal(30, TestHub.Output<int>(state));
        var child = await hub.Client.GetOrchestrationStateAsync(id + "-child");
        Assert.Equal(OrchestrationStatus.Completed, child?.OrchestrationStatus);
        Assert.Equal(id, child?.ParentInstance?.OrchestrationInstance.InstanceId);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ContinueAsNew_TenGenerations_KeepsOnlyTheLastHistory(bool sessions)
    {
        await using var hub = await TestHub.StartAsync(Samples.Register, Sessions(sessions));
        var state = await hub.RunAsync("Counter", 0, "counter-" + sessions);

        Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
        Assert.Equal(10, TestHub.Output<int>(state));
        Assert.Equal("10", state.Input);
        var history = await hub.Client.GetOrchestrationHistoryAsync(state.OrchestrationInstance);
        Assert.Equal(1, CountOccurrences(history, "ExecutionStartedEvent"));
        Assert.Equal(0, CountOccurrences(history, "ContinueAsNewEvent"));
    }

    [Fact]
    public async Task Retry_ActivityFailsTwice_SucceedsOnThirdAttempt()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var state = await hub.RunAsync("Retry", 2);

        Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
        Assert.Equal("succeeded on attempt 3", TestHub.Output<string>(state));
    }

    [Fact]
    public async Task Retry_ActivityAlwaysFails_OrchestrationFailsWithActivityError()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var state = await hub.RunAsync("Retry", 99);

        Assert.Equal(OrchestrationStatus.Failed, state.OrchestrationStatus);
        Assert.Contains("attempt 5 fails", state.FailureDetails?.ToString() ?? state.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task LargePayload_OverOneMegabyte_RoundTripsThroughActivity(bool sessions)
    {
        await using var hub = await TestHub.StartAsync(Samples.Register, Sessions(sessions));
        var payload = string.Concat(Enumerable.Range(0, 150_000).Select(i => (char)('a' + i % 26) + "ünï" + i % 10));
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(payload) > 1_048_576);
        var state = await hub.RunAsync("Echo", payload);

        Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
        Assert.Equal(payload, TestHub.Output<string>(state));
    }

    private static int CountOccurrences(string text, string what)
    {
        var count = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}

using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Serverless.Hosting.Client;
using Serverless.Hosting.Runtime;

namespace Serverless.Hosting.Tests.Conformance;

/// <summary>
/// The one conformance suite every DTFx provider must pass, ported from the old engine's suite to SDK classes on the
/// real runtime. A provider runs it through a sealed subclass with its fixture (<see cref="AzureStorageConformanceTests"/>,
/// <see cref="SqliteReplayConformanceTests"/>, <see cref="SqliteSessionsConformanceTests"/>).
/// Worker pools are gone (Durable Functions has none); the clock is real, so backoff is checked on the timers' fire
/// times in the history rather than on an injected clock.
/// </summary>
public abstract class DurableConformanceTests(DurableHostFixture fixture)
{
    private DurableTaskClient Client => fixture.Client;

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private async Task<OrchestrationMetadata> RunAsync(string name, object? input = null, string? instanceId = null)
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(instanceId ?? NewId(name)));
        return await WaitAsync(id);
    }

    private async Task<OrchestrationMetadata> WaitAsync(string id, int seconds = 60)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not reached");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// The history through the client, after checking on the provider's own text that the streaming parse gives what the
    /// token-tree parse gives (<see cref="HistoryJsonTests"/>): every event type the suite makes the provider write.
    /// </summary>
    private async Task<IList<HistoryEvent>> HistoryAsync(string id)
    {
        var json = await fixture.Provider.Client.GetOrchestrationHistoryAsync(id, null!);
        HistoryJsonTests.AssertSameAsTreeParse(json);
        return await Client.GetOrchestrationHistoryAsync(id);
    }

    [Fact]
    public async Task HelloSequence_ThreeActivities_CompletesWithOutputsInOrder()
    {
        var result = await RunAsync("HelloSequence");
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(["Hello Tokyo!", "Hello Seattle!", "Hello London!"], result.ReadOutputAs<List<string>>());
        var history = await HistoryAsync(result.InstanceId);
        Assert.Equal(3, history.OfType<TaskScheduledEvent>().Count());
        Assert.Equal(3, history.OfType<TaskCompletedEvent>().Count());
        Assert.IsType<ExecutionCompletedEvent>(history.Last(e => e is not OrchestratorCompletedEvent));
    }

    [Fact]
    public async Task FanOutFanIn_ManyActivities_SumsAllResults()
    {
        var result = await RunAsync("FanOut", 60);
        Assert.Equal(Enumerable.Range(1, 60).Sum(i => i * i), result.ReadOutputAs<int>());
    }

    [Fact]
    public async Task CreateTimer_ShortDelay_FiresAndCompletes()
    {
        var result = await RunAsync("Timer");
        // A provider may deliver a timer early by up to its granularity (Azure Storage: whole seconds), never more.
        Assert.InRange(result.ReadOutputAs<double>(), 1500 - fixture.TimerGranularity.TotalMilliseconds, 60_000);
        var history = await HistoryAsync(result.InstanceId);
        var created = Assert.Single(history.OfType<TimerCreatedEvent>());
        var fired = Assert.Single(history.OfType<TimerFiredEvent>());
        Assert.Equal(created.FireAt, fired.FireAt);
    }

    [Fact]
    public async Task WaitForExternalEvent_EventRaised_ReturnsPayload()
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("Approval", new StartOrchestrationOptions(NewId("approval")));
        await WaitUntilAsync(async () => (await Client.GetInstanceAsync(id, getInputsAndOutputs: true))?.SerializedCustomStatus == "\"waiting\"");
        await Client.RaiseEventAsync(id, "approve", "alice"); // names match case-insensitively
        var result = await WaitAsync(id);
        Assert.Equal("approved by alice", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task WaitForExternalEvent_EventBeforeWait_IsBuffered()
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("Late", new StartOrchestrationOptions(NewId("late")));
        await Client.WaitForInstanceStartAsync(id);
        await Client.RaiseEventAsync(id, "Go", "buffered");
        Assert.Equal("buffered", (await WaitAsync(id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task WaitForExternalEvent_Timeout_ThrowsTaskCanceled()
    {
        Assert.Equal("timed out", (await RunAsync("Timeout")).ReadOutputAs<string>());
    }

    [Fact]
    public async Task WhenAny_EventBeatsTimer_TimerCancelled()
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("Race", new StartOrchestrationOptions(NewId("race")));
        await Client.WaitForInstanceStartAsync(id);
        await Client.RaiseEventAsync(id, "Value", 42);
        Assert.Equal("event 42", (await WaitAsync(id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task SubOrchestration_CompletesAndFails_PropagatesToParent()
    {
        var parent = NewId("parent");
        var result = await RunAsync("Parent", instanceId: parent);
        Assert.Equal("42 True", result.ReadOutputAs<string>());
        var child = await Client.GetInstanceAsync(parent + "-child");
        Assert.NotNull(child);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, child.RuntimeStatus);
        var started = (await HistoryAsync(parent + "-child")).OfType<ExecutionStartedEvent>().Single();
        Assert.Equal(parent, started.ParentInstance?.OrchestrationInstance?.InstanceId);
    }

    [Fact]
    public async Task ContinueAsNew_Counter_RestartsWithNewInputAndFreshHistory()
    {
        var result = await RunAsync("Counter", 0);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(5, result.ReadOutputAs<int>());
        Assert.Equal(4, result.ReadInputAs<int>());
        Assert.Single((await HistoryAsync(result.InstanceId)).OfType<TaskScheduledEvent>());
    }

    [Fact]
    public async Task ActivityThrows_InstanceFailsWithDetails_OthersUnaffected()
    {
        var failing = await Client.ScheduleNewOrchestrationInstanceAsync("Failing", new StartOrchestrationOptions(NewId("failing")));
        var ok = await Client.ScheduleNewOrchestrationInstanceAsync("HelloSequence", new StartOrchestrationOptions(NewId("ok")));
        var failed = await WaitAsync(failing);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.NotNull(failed.FailureDetails);
        Assert.Equal(typeof(Microsoft.DurableTask.TaskFailedException).FullName, failed.FailureDetails.ErrorType);
        Assert.Contains("bad data in row 7", failed.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.NotNull(failed.FailureDetails.InnerFailure);
        Assert.Equal(typeof(InvalidDataException).FullName, failed.FailureDetails.InnerFailure.ErrorType);
        Assert.False(string.IsNullOrEmpty(failed.FailureDetails.InnerFailure.StackTrace));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await WaitAsync(ok)).RuntimeStatus);
    }

    [Fact]
    public async Task UnknownOrchestratorAndActivity_InstanceFailsAtOnceNamingIt()
    {
        // DTFx's own handling of a missing type is to abandon the work item and retry it every 10 s, forever; the
        // runtime fails the instance instead, well inside the wait below.
        var a = await WaitAsync(await Client.ScheduleNewOrchestrationInstanceAsync("NoSuchOrchestrator", new StartOrchestrationOptions(NewId("missing"))), seconds: 8);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, a.RuntimeStatus);
        Assert.Equal(typeof(UnknownTaskException).FullName, a.FailureDetails!.ErrorType);
        Assert.Contains("'NoSuchOrchestrator'", a.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        var b = await WaitAsync(await Client.ScheduleNewOrchestrationInstanceAsync("CallsMissing", new StartOrchestrationOptions(NewId("calls-missing"))), seconds: 8);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, b.RuntimeStatus);
        Assert.Contains("'NoSuchActivity'", b.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(typeof(UnknownTaskException).FullName, b.FailureDetails.InnerFailure?.ErrorType);
    }

    [Fact]
    public async Task InputDoesNotDeserialize_InstanceFailsNamingType()
    {
        var result = await RunAsync("NeedsInt", "not a number");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("Int32", result.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_FailsTwiceThenSucceeds_CompletesAfterThreeAttempts()
    {
        var result = await RunAsync("Retrying");
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(3, result.ReadOutputAs<int>());
        Assert.Equal(3, ConformanceTasks.Count(result.InstanceId + "/flaky"));
    }

    [Fact]
    public async Task Retry_Exhausted_FailsAfterMaxAttempts()
    {
        var result = await RunAsync("Exhaust");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Equal(2, (await HistoryAsync(result.InstanceId)).OfType<TaskFailedEvent>().Count());
        Assert.Equal(2, ConformanceTasks.Count(result.InstanceId + "/flaky"));
    }

    [Fact]
    public async Task Retry_BackoffIntervals_TimersFireAfterExponentialCappedDelays()
    {
        var result = await RunAsync("Backoff");
        Assert.Equal(4, result.ReadOutputAs<int>());
        // Each retry timer fires the policy's delay after the orchestration time of the turn that saw the failure:
        // 500 ms, then 500 x 2 = 1000 capped to 800, then 2000 capped to 800.
        var history = await HistoryAsync(result.InstanceId);
        var delays = new List<double>();
        DateTime turn = default;
        foreach (var e in history)
        {
            if (e is OrchestratorStartedEvent) turn = e.Timestamp;
            if (e is TimerCreatedEvent t) delays.Add((t.FireAt - turn).TotalMilliseconds);
        }
        Assert.Equal([500.0, 800.0, 800.0], delays);
        Assert.Equal(3, history.OfType<TaskFailedEvent>().Count());
        Assert.Equal(3, history.OfType<TimerFiredEvent>().Count());
    }

    [Fact]
    public async Task Retry_RetryTimeoutElapsed_StopsRetrying()
    {
        var result = await RunAsync("TimeBoxed");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        // Retries stop once 1.5 s of orchestration time passed since the first attempt, not after the policy's 50
        // attempts. DTFx decides on a retry at a turn whose time is before first + 1.5 s, and retry k's timer fires
        // (k - 1) x 100 ms or more after the first attempt, so a provider whose timers are never early allows at most
        // 1 + 1500 / 100 = 16 attempts (a fast provider reaches exactly that). Timers that fire early (Azure Storage:
        // up to 1 s) make the attempts denser, so there only the stop before 50 is certain.
        var max = fixture.TimerGranularity == TimeSpan.Zero ? 16 : 49;
        Assert.InRange(ConformanceTasks.Count(result.InstanceId + "/flaky"), 2, max);
    }

    [Fact]
    public async Task Terminate_RunningInstance_EndsTerminatedWithReason()
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("Forever", new StartOrchestrationOptions(NewId("terminate")));
        await Client.WaitForInstanceStartAsync(id);
        await Client.TerminateInstanceAsync(id, "operator said stop");
        var result = await WaitAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, result.RuntimeStatus);
        Assert.Equal("operator said stop", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task SuspendResume_EventsHeldWhileSuspended()
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("Suspendable", new StartOrchestrationOptions(NewId("suspend")));
        await Client.WaitForInstanceStartAsync(id);
        await Client.SuspendInstanceAsync(id, "maintenance");
        await WaitUntilAsync(async () => (await Client.GetInstanceAsync(id))!.RuntimeStatus == OrchestrationRuntimeStatus.Suspended);
        await Client.RaiseEventAsync(id, "Go", "after resume");
        await Task.Delay(500);
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, (await Client.GetInstanceAsync(id))!.RuntimeStatus);
        await Client.ResumeInstanceAsync(id, "done");
        var result = await WaitAsync(id);
        Assert.Equal("after resume", result.ReadOutputAs<string>());
        var history = await HistoryAsync(id);
        Assert.Single(history.OfType<ExecutionSuspendedEvent>());
        Assert.Single(history.OfType<ExecutionResumedEvent>());
    }

    [Fact]
    public async Task Purge_FinishedInstance_RemovedButRunningKept()
    {
        var done = await RunAsync("HelloSequence");
        var running = await Client.ScheduleNewOrchestrationInstanceAsync("Forever", new StartOrchestrationOptions(NewId("purge-running")));
        await Client.WaitForInstanceStartAsync(running);
        Assert.Equal(0, (await Client.PurgeInstanceAsync(running)).PurgedInstanceCount);
        Assert.Equal(1, (await Client.PurgeInstanceAsync(done.InstanceId)).PurgedInstanceCount);
        Assert.Null(await Client.GetInstanceAsync(done.InstanceId));
        Assert.Empty(await HistoryAsync(done.InstanceId));
        Assert.NotNull(await Client.GetInstanceAsync(running));

        var second = await RunAsync("HelloSequence");
        // Tests of one class run one after another, so the hub's instances created since 'second' are this test's. (Not
        // a window before it: on a fast provider the previous test's instances were created within the last second.)
        var from = second.CreatedAt.AddMilliseconds(-1);
        Assert.Equal(1, (await Client.PurgeAllInstancesAsync(new PurgeInstancesFilter(CreatedFrom: from))).PurgedInstanceCount);
        Assert.Null(await Client.GetInstanceAsync(second.InstanceId));
        Assert.NotNull(await Client.GetInstanceAsync(running));
        await Client.TerminateInstanceAsync(running);
    }

    [Fact]
    public async Task Query_ByStatusPrefixAndCreatedRange_PagesThroughAll()
    {
        var prefix = $"q{Guid.NewGuid():N}"[..12];
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        for (var i = 0; i < 7; i++) await RunAsync("HelloSequence", instanceId: $"{prefix}-a-{i}");
        for (var i = 0; i < 3; i++) await Client.ScheduleNewOrchestrationInstanceAsync("Forever", new StartOrchestrationOptions($"{prefix}-b-{i}"));
        for (var i = 0; i < 3; i++) await Client.WaitForInstanceStartAsync($"{prefix}-b-{i}");

        var pages = new List<Page<OrchestrationMetadata>>();
        await foreach (var page in Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = $"{prefix}-a-", PageSize = 3 }).AsPages())
        {
            if (page.Values.Count > 0) pages.Add(page);
        }
        Assert.Equal(3, pages.Count);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"{prefix}-a-{i}"), pages.SelectMany(p => p.Values).Select(m => m.InstanceId));

        var running = new List<string>();
        await foreach (var m in Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix, Statuses = [OrchestrationRuntimeStatus.Running] }))
            running.Add(m.InstanceId);
        Assert.Equal([$"{prefix}-b-0", $"{prefix}-b-1", $"{prefix}-b-2"], running);

        var none = new List<string>();
        await foreach (var m in Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix, CreatedTo = before })) none.Add(m.InstanceId);
        Assert.Empty(none);
        var all = new List<OrchestrationMetadata>();
        await foreach (var m in Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix, CreatedFrom = before, FetchInputsAndOutputs = true })) all.Add(m);
        Assert.Equal(10, all.Count);
        Assert.All(all.Where(m => m.RuntimeStatus == OrchestrationRuntimeStatus.Completed), m => Assert.NotNull(m.SerializedOutput));
        for (var i = 0; i < 3; i++) await Client.TerminateInstanceAsync($"{prefix}-b-{i}");
    }

    [Fact]
    public async Task Schedule_ExistingRunningId_ThrowsAlreadyExists()
    {
        var id = NewId("dup");
        await Client.ScheduleNewOrchestrationInstanceAsync("Forever", new StartOrchestrationOptions(id));
        await Assert.ThrowsAsync<OrchestrationAlreadyExistsException>(() =>
            Client.ScheduleNewOrchestrationInstanceAsync("Forever", new StartOrchestrationOptions(id)));
        await Client.TerminateInstanceAsync(id);
    }

    [Fact]
    public async Task Schedule_StartAtInFuture_StaysPendingUntilDue()
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("HelloSequence",
            new StartOrchestrationOptions(NewId("later"), StartAt: DateTimeOffset.UtcNow.AddSeconds(3)));
        await Task.Delay(300); // far from the start time even on a loaded machine
        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await Client.GetInstanceAsync(id))!.RuntimeStatus);
        var result = await WaitAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var started = (await HistoryAsync(id)).OfType<ExecutionStartedEvent>().Single();
        Assert.NotNull(started.ScheduledStartTime);
        var firstTurn = (await HistoryAsync(id)).OfType<OrchestratorStartedEvent>().First().Timestamp;
        Assert.True(firstTurn >= started.ScheduledStartTime!.Value - fixture.TimerGranularity, $"started at {firstTurn:o}, due {started.ScheduledStartTime:o}");
    }

    [Fact]
    public async Task NonDeterministicCode_OnReplay_FailsAsDtfxReportsIt()
    {
        var result = await RunAsync("NonDeterministic");
        if (!fixture.ReplaysEveryTurn)
        {
            // Extended sessions resume the live orchestrator instead of replaying it: the code ran once, so DTFx never
            // saw the different choice a replay would make, and the instance completes (as on any DTFx provider with
            // sessions). The replay fixture of the same provider runs the failing case.
            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal(1, ConformanceTasks.Count(result.InstanceId + "/flip"));
            return;
        }
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        // DTFx compares each replayed action with the history: scheduling 'B' where the history has 'A' at the same
        // sequence number fails the instance with its NonDeterministicOrchestrationException, naming both.
        Assert.Equal(typeof(NonDeterministicOrchestrationException).FullName, result.FailureDetails!.ErrorType);
        Assert.Contains("A", result.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("B", result.FailureDetails.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReplaySafeValues_NewGuidAndTime_StableAcrossReplays()
    {
        var result = (await RunAsync("Stable")).ReadOutputAs<List<string>>()!;
        Assert.Equal(5, result.Count);
        Assert.All(result.Skip(2), s => Assert.Equal(result[0] + result[1], s));
    }

    [Fact]
    public async Task LargePayload_Over64KB_RoundTrips()
    {
        var big = new string('x', 200_000);
        var result = await RunAsync("Big", big);
        Assert.Equal($"200000:{big}", result.ReadOutputAs<string>());
        Assert.Equal(big, result.ReadInputAs<string>());
    }

    [Fact]
    public async Task DuplicateActivityResult_OrchestrationResultUnchanged()
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("Dup", new StartOrchestrationOptions(NewId("dup-result")));
        await WaitUntilAsync(async () => (await HistoryAsync(id)).OfType<TaskCompletedEvent>().Any());
        // Deliver the same activity result again, as an at-least-once queue may.
        var scheduled = (await HistoryAsync(id)).OfType<TaskScheduledEvent>().Single();
        await fixture.Provider.Client.SendTaskOrchestrationMessageAsync(new TaskMessage
        {
            OrchestrationInstance = new OrchestrationInstance { InstanceId = id },
            Event = new TaskCompletedEvent(-1, scheduled.EventId, "1"),
        });
        await Task.Delay(500);
        await Client.RaiseEventAsync(id, "Next", 10);
        var result = await WaitAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(11, result.ReadOutputAs<int>());
        Assert.Equal(1, ConformanceTasks.Count(id + "/id"));
    }

    [Fact]
    public async Task MessagesToFinishedInstance_Discarded()
    {
        var done = await RunAsync("HelloSequence");
        var before = (await HistoryAsync(done.InstanceId)).Count;
        await Client.RaiseEventAsync(done.InstanceId, "Late", 1);
        await Task.Delay(500);
        var after = await Client.GetInstanceAsync(done.InstanceId, true);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, after!.RuntimeStatus);
        Assert.Equal(done.SerializedOutput, after.SerializedOutput);
        Assert.Equal(before, (await HistoryAsync(done.InstanceId)).Count);
    }

    [Fact]
    public async Task ClassBased_OrchestratorAndActivity_RunUnderTheirRegisteredNames()
    {
        var result = await RunAsync(nameof(ConformanceTasks.MultiplyOrchestrator), 6);
        Assert.Equal(42, result.ReadOutputAs<int>());
        Assert.Equal("Multiply", (await HistoryAsync(result.InstanceId)).OfType<TaskScheduledEvent>().Single().Name);
    }

    [Fact]
    public async Task ReplaySafeLogger_LogsOncePerLiveStep_NotOnReplay()
    {
        var result = await RunAsync("Logging");
        Assert.Equal(3, result.ReadOutputAs<int>());
        var lines = fixture.Log.Where(l => l.StartsWith(ConformanceTasks.LogCategory + "|", StringComparison.Ordinal) && l.EndsWith(result.InstanceId, StringComparison.Ordinal))
            .Select(l => l.Split('|')[1].Split(" of ")[0]).ToArray();
        Assert.Equal(["step 0", "step 1", "step 2"], lines);
    }

    [Fact]
    public async Task GetInstance_WithoutInputsAndOutputs_OmitsThem()
    {
        var done = await RunAsync("HelloSequence", "input-value");
        var bare = await Client.GetInstanceAsync(done.InstanceId, getInputsAndOutputs: false);
        Assert.NotNull(bare);
        Assert.Null(bare.SerializedInput);
        Assert.Null(bare.SerializedOutput);
        var full = await Client.GetInstanceAsync(done.InstanceId, getInputsAndOutputs: true);
        Assert.Equal("\"input-value\"", full!.SerializedInput);
        Assert.NotNull(full.SerializedOutput);
    }

    [Fact]
    public async Task RaiseEvent_UnknownInstance_ThrowsInstanceNotFound()
    {
        var ex = await Assert.ThrowsAsync<InstanceNotFoundException>(() => Client.RaiseEventAsync("nope-" + Guid.NewGuid().ToString("N"), "E", 1));
        Assert.StartsWith("nope-", ex.InstanceId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restart_FinishedInstance_RunsAgainWithSameInput()
    {
        var done = await RunAsync("HelloSequence", "restart-input");
        var sameId = await Client.RestartAsync(done.InstanceId);
        Assert.Equal(done.InstanceId, sameId);
        var again = await WaitAsync(sameId);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, again.RuntimeStatus);
        Assert.Equal("restart-input", again.ReadInputAs<string>());
        Assert.True(again.CreatedAt >= done.CreatedAt);
        var newId = await Client.RestartAsync(done.InstanceId, restartWithNewInstanceId: true);
        Assert.NotEqual(done.InstanceId, newId);
        var copy = await WaitAsync(newId);
        Assert.Equal("restart-input", copy.ReadInputAs<string>());
        Assert.Equal(done.SerializedOutput, copy.SerializedOutput);
    }

    [Fact]
    public async Task Restart_RunningInstanceSameId_Throws()
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync("Forever", new StartOrchestrationOptions(NewId("restart-running")));
        await Client.WaitForInstanceStartAsync(id);
        await Assert.ThrowsAsync<InvalidOperationException>(() => Client.RestartAsync(id));
        await Client.TerminateInstanceAsync(id);
    }
}

/// <summary>The conformance suite on DTFx's Azure Storage provider (Azurite).</summary>
public sealed class AzureStorageConformanceTests(AzureStorageFixture fixture) : DurableConformanceTests(fixture), IClassFixture<AzureStorageFixture>;

/// <summary>The conformance suite on the embedded SQLite provider, every turn replayed from the stored history.</summary>
public sealed class SqliteReplayConformanceTests(SqliteReplayFixture fixture) : DurableConformanceTests(fixture), IClassFixture<SqliteReplayFixture>;

/// <summary>The conformance suite on the embedded SQLite provider with its defaults (extended sessions on).</summary>
public sealed class SqliteSessionsConformanceTests(SqliteSessionsFixture fixture) : DurableConformanceTests(fixture), IClassFixture<SqliteSessionsFixture>;

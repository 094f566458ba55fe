using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.Query;

namespace Serverless.DurableTask.Sqlite.Tests;

/// <summary>The client side: terminate, suspend/resume, start rules, scheduled starts, waiting, purge and query.</summary>
public sealed class ClientTests
{
    [Fact]
    public async Task Terminate_WaitingInstance_EndsTerminatedWithReason()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var instance = await hub.StartAsync("WaitEvent", "");
        await hub.WaitForAsync(instance.InstanceId, s => s.OrchestrationStatus == OrchestrationStatus.Running);
        await hub.Client.TerminateInstanceAsync(instance, "no longer needed");
        var state = await hub.WaitAsync(instance);

        Assert.Equal(OrchestrationStatus.Terminated, state.OrchestrationStatus);
        Assert.Contains("no longer needed", state.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SuspendResume_EventWhileSuspended_WaitsUntilResumedThenCompletes()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var instance = await hub.StartAsync("WaitEvent", "");
        await hub.WaitForAsync(instance.InstanceId, s => s.OrchestrationStatus == OrchestrationStatus.Running);
        await hub.Client.SuspendInstanceAsync(instance, "pause");
        await hub.WaitForAsync(instance.InstanceId, s => s.OrchestrationStatus == OrchestrationStatus.Suspended);
        await hub.Client.RaiseEventAsync(instance, "go", "later");
        await Task.Delay(300);
        Assert.Equal(OrchestrationStatus.Suspended, (await hub.Client.GetOrchestrationStateAsync(instance.InstanceId))!.OrchestrationStatus);

        await hub.Client.ResumeInstanceAsync(instance, "go on");
        var state = await hub.WaitAsync(instance);
        Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
        Assert.Equal("got later", TestHub.Output<string>(state));
    }

    [Fact]
    public async Task Create_SameIdWhileRunning_ThrowsAlreadyExists()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var instance = await hub.StartAsync("WaitEvent", "", "dup");
        await hub.WaitForAsync(instance.InstanceId, s => s.OrchestrationStatus == OrchestrationStatus.Running);

        await Assert.ThrowsAsync<OrchestrationAlreadyExistsException>(() => hub.StartAsync("WaitEvent", "", "dup"));
    }

    [Fact]
    public async Task Create_SameIdAfterCompletion_ReplacesTheOldInstance()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var first = await hub.RunAsync("Sequence", 2, "again");
        var second = await hub.RunAsync("Sequence", 4, "again");

        Assert.Equal(2, TestHub.Output<int>(first));
        Assert.Equal(4, TestHub.Output<int>(second));
        Assert.NotEqual(first.OrchestrationInstance.ExecutionId, second.OrchestrationInstance.ExecutionId);
        var history = await hub.Client.GetOrchestrationHistoryAsync(second.OrchestrationInstance);
        Assert.Equal(4, history.Split("TaskCompletedEvent").Length - 1);
    }

    [Fact]
    public async Task Create_DedupeStatusesIncludeCompleted_RefusesToReplace()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        await hub.RunAsync("Sequence", 1, "kept");

        await Assert.ThrowsAsync<OrchestrationAlreadyExistsException>(() => hub.Client.CreateOrchestrationInstanceAsync(
            "Sequence", "", "kept", 1, null, [OrchestrationStatus.Completed]));
    }

    [Fact]
    public async Task ScheduledStart_InTheFuture_StaysPendingThenRuns()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var startAt = DateTime.UtcNow.AddSeconds(2);
        var instance = await hub.Client.CreateScheduledOrchestrationInstanceAsync("Sequence", "", "later", 1, startAt);
        var pending = await hub.Client.GetOrchestrationStateAsync("later");
        Assert.True(DateTime.UtcNow < startAt, "the machine was too slow to observe the wait");
        Assert.Equal(OrchestrationStatus.Pending, pending!.OrchestrationStatus);

        var state = await hub.WaitAsync(instance);
        Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
        Assert.True(state.CompletedTime >= startAt, $"completed at {state.CompletedTime:O}, before its start {startAt:O}");
    }

    [Fact]
    public async Task Terminate_BeforeScheduledStart_EndsWithoutRunning()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var instance = await hub.Client.CreateScheduledOrchestrationInstanceAsync("Sequence", "", "never", 1, DateTime.UtcNow.AddMinutes(5));
        await hub.Client.TerminateInstanceAsync(instance, "cancelled");
        var state = await hub.WaitAsync(instance, 5);

        Assert.Equal(OrchestrationStatus.Terminated, state.OrchestrationStatus);
        Assert.Equal("cancelled", state.Output);
        Assert.False(Samples.ActivityRuns.ContainsKey("never:0"));
    }

    [Fact]
    public async Task WaitForOrchestration_NotFinishing_ReturnsNullAfterTimeout()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var instance = await hub.StartAsync("WaitEvent", "");

        Assert.Null(await hub.Client.WaitForOrchestrationAsync(instance, TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task RaiseEvent_UnknownInstance_IsDroppedWithoutError()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        await hub.Client.RaiseEventAsync(new OrchestrationInstance { InstanceId = "nobody" }, "go", "x");

        Assert.Null(await hub.Client.GetOrchestrationStateAsync("nobody"));
    }

    [Fact]
    public async Task PurgeInstance_Finished_DeletesStateAndHistory()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var state = await hub.RunAsync("Sequence", 2, "purge-me");

        var result = await hub.Service.PurgeInstanceStateAsync("purge-me");
        Assert.Equal(1, result.DeletedInstanceCount);
        Assert.Null(await hub.Client.GetOrchestrationStateAsync("purge-me"));
        Assert.Equal("[]", await hub.Service.GetOrchestrationHistoryAsync("purge-me", state.OrchestrationInstance.ExecutionId));
    }

    [Fact]
    public async Task PurgeInstance_Running_IsRefused()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var instance = await hub.StartAsync("WaitEvent", "", "alive");
        await hub.WaitForAsync(instance.InstanceId, s => s.OrchestrationStatus == OrchestrationStatus.Running);

        Assert.Equal(0, (await hub.Service.PurgeInstanceStateAsync("alive")).DeletedInstanceCount);
        Assert.NotNull(await hub.Client.GetOrchestrationStateAsync("alive"));
    }

    [Fact]
    public async Task PurgeByFilter_StatusAndTime_DeletesOnlyMatchingFinishedInstances()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var before = DateTime.UtcNow.AddSeconds(-1);
        for (var i = 0; i < 3; i++) await hub.RunAsync("Sequence", 1, $"done-{i}");
        var failed = await hub.RunAsync("Retry", 99, "failed-0");
        Assert.Equal(OrchestrationStatus.Failed, failed.OrchestrationStatus);
        var running = await hub.StartAsync("WaitEvent", "", "running-0");
        await hub.WaitForAsync(running.InstanceId, s => s.OrchestrationStatus == OrchestrationStatus.Running);

        var result = await hub.Service.PurgeInstanceStateAsync(new PurgeInstanceFilter(before, DateTime.UtcNow, [OrchestrationStatus.Completed, OrchestrationStatus.Running]));

        Assert.Equal(3, result.DeletedInstanceCount);
        Assert.True(result.IsComplete);
        for (var i = 0; i < 3; i++) Assert.Null(await hub.Client.GetOrchestrationStateAsync($"done-{i}"));
        Assert.NotNull(await hub.Client.GetOrchestrationStateAsync("failed-0"));
        Assert.NotNull(await hub.Client.GetOrchestrationStateAsync("running-0"));
    }

    [Fact]
    public async Task PurgeByFilter_CreatedBeforeRange_IsKept()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        await hub.RunAsync("Sequence", 1, "old");
        var from = DateTime.UtcNow.AddMilliseconds(50);
        await Task.Delay(100);
        await hub.RunAsync("Sequence", 1, "new");

        var result = await hub.Service.PurgeInstanceStateAsync(new PurgeInstanceFilter(from, null, null));

        Assert.Equal(1, result.DeletedInstanceCount);
        Assert.NotNull(await hub.Client.GetOrchestrationStateAsync("old"));
        Assert.Null(await hub.Client.GetOrchestrationStateAsync("new"));
    }

    [Fact]
    public async Task Query_PrefixStatusAndPaging_ReturnsEveryMatchOnceInOrder()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        for (var i = 0; i < 7; i++) await hub.RunAsync("Sequence", 1, $"q-{i:D2}");
        await hub.RunAsync("Sequence", 1, "other");
        var waiting = await hub.StartAsync("WaitEvent", "", "q-waiting");
        await hub.WaitForAsync(waiting.InstanceId, s => s.OrchestrationStatus == OrchestrationStatus.Running);

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await hub.Service.GetOrchestrationWithQueryAsync(new OrchestrationQuery
            {
                InstanceIdPrefix = "q-",
                RuntimeStatus = [OrchestrationStatus.Completed],
                PageSize = 3,
                ContinuationToken = token,
                FetchInputsAndOutputs = false,
            }, CancellationToken.None);
            Assert.All(page.OrchestrationState, s => Assert.Null(s.Input));
            seen.AddRange(page.OrchestrationState.Select(s => s.OrchestrationInstance.InstanceId));
            token = page.ContinuationToken;
            pages++;
        }
        while (token != null);

        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"q-{i:D2}"), seen);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task Query_CreatedTimeRange_WithInputs_ReturnsOnlyThatRange()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        await hub.RunAsync("Sequence", 1, "early");
        var from = DateTime.UtcNow;
        await Task.Delay(50);
        await hub.RunAsync("Sequence", 3, "late");

        var result = await hub.Service.GetOrchestrationWithQueryAsync(new OrchestrationQuery { CreatedTimeFrom = from }, CancellationToken.None);

        var only = Assert.Single(result.OrchestrationState);
        Assert.Equal("late", only.OrchestrationInstance.InstanceId);
        Assert.Equal("3", only.Input);
        Assert.Equal("3", only.Output);
        Assert.Null(result.ContinuationToken);
    }
}

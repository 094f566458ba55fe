using Microsoft.Extensions.Logging;
using System.Collections.Concurrent;
using Serverless.Durable.Backend;
using Serverless.Durable.History;

namespace Serverless.Durable.Tests.Conformance;

/// <summary>
/// The one conformance suite every backend must pass. Each derived class supplies a fresh backend;
/// the tests exercise the engine end to end (worker, replay, client) over it.
/// </summary>
public abstract class BackendConformanceTests
{
    /// <summary>Creates a fresh, empty backend.</summary>
    protected abstract IOrchestrationBackend CreateBackend(TimeProvider? time = null);

    private Task<TestHost> StartAsync(Action<DurableTaskRegistry> register, Action<DurableTaskWorkerOptions>? configure = null, TimeProvider? time = null) =>
        TestHost.StartAsync(CreateBackend(time), register, configure, time);

    private static T Throw<T>(Exception e) => throw e;

    private static void Hello(DurableTaskRegistry r) => r
        .AddActivityFunc<string, string>("SayHello", (_, name) => $"Hello {name}!")
        .AddOrchestratorFunc<string?, List<string>>("HelloSequence", async (ctx, _) =>
        [
            await ctx.CallActivityAsync<string>("SayHello", "Tokyo"),
            await ctx.CallActivityAsync<string>("SayHello", "Seattle"),
            await ctx.CallActivityAsync<string>("SayHello", "London"),
        ]);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task HelloSequence_ThreeActivities_CompletesWithOutputsInOrder(bool cache)
    {
        await using var host = await StartAsync(Hello, o => o.MaxCachedOrchestrations = cache ? 100 : 0);
        var result = await host.RunAsync("HelloSequence");
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(["Hello Tokyo!", "Hello Seattle!", "Hello London!"], result.ReadOutputAs<List<string>>());
        var history = await host.Client.GetHistoryAsync(result.InstanceId);
        Assert.Equal(3, history.OfType<TaskScheduledEvent>().Count());
        Assert.Equal(3, history.OfType<TaskCompletedEvent>().Count());
        Assert.IsType<ExecutionCompletedEvent>(history.Last(e => e is not OrchestratorCompletedEvent));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task FanOutFanIn_ManyActivities_SumsAllResults(bool cache)
    {
        await using var host = await StartAsync(r => r
            .AddActivityFunc<int, int>("Square", (_, x) => x * x)
            .AddOrchestratorFunc<int, int>("FanOut", async (ctx, n) =>
            {
                var tasks = Enumerable.Range(1, n).Select(i => ctx.CallActivityAsync<int>("Square", i)).ToList();
                var results = await Task.WhenAll(tasks);
                return results.Sum();
            }), o => o.MaxCachedOrchestrations = cache ? 100 : 0);
        var result = await host.RunAsync("FanOut", 60);
        Assert.Equal(Enumerable.Range(1, 60).Sum(i => i * i), result.ReadOutputAs<int>());
    }

    [Fact]
    public async Task CreateTimer_ShortDelay_FiresAndCompletes()
    {
        await using var host = await StartAsync(r => r.AddOrchestratorFunc<string?, string>("Timer", async (ctx, _) =>
        {
            var start = ctx.CurrentUtcDateTime;
            await ctx.CreateTimer(TimeSpan.FromMilliseconds(200), CancellationToken.None);
            return (ctx.CurrentUtcDateTime - start).TotalMilliseconds >= 200 ? "late enough" : "too early";
        }));
        var result = await host.RunAsync("Timer");
        Assert.Equal("late enough", result.ReadOutputAs<string>());
        var history = await host.Client.GetHistoryAsync(result.InstanceId);
        Assert.Single(history.OfType<TimerCreatedEvent>());
        Assert.Single(history.OfType<TimerFiredEvent>());
    }

    [Fact]
    public async Task WaitForExternalEvent_EventRaised_ReturnsPayload()
    {
        await using var host = await StartAsync(r => r.AddOrchestratorFunc<string?, string>("Approval", async (ctx, _) =>
        {
            ctx.SetCustomStatus("waiting");
            var answer = await ctx.WaitForExternalEvent<string>("Approve");
            return $"approved by {answer}";
        }));
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Approval");
        await host.WaitForStatusAsync(id, m => m.SerializedCustomStatus == "\"waiting\"");
        await host.Client.RaiseEventAsync(id, "approve", "alice"); // names match case-insensitively
        var result = await host.WaitAsync(id);
        Assert.Equal("approved by alice", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task WaitForExternalEvent_EventBeforeWait_IsBuffered()
    {
        await using var host = await StartAsync(r => r
            .AddActivityFunc<int, int>("Slow", async (_, x) => { await Task.Delay(300); return x; })
            .AddOrchestratorFunc<string?, string>("Late", async (ctx, _) =>
            {
                await ctx.CallActivityAsync<int>("Slow", 1);
                return await ctx.WaitForExternalEvent<string>("Go");
            }));
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Late");
        await host.Client.WaitForInstanceStartAsync(id);
        await host.Client.RaiseEventAsync(id, "Go", "buffered");
        Assert.Equal("buffered", (await host.WaitAsync(id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task WaitForExternalEvent_Timeout_ThrowsTaskCanceled()
    {
        await using var host = await StartAsync(r => r.AddOrchestratorFunc<string?, string>("Timeout", async (ctx, _) =>
        {
            try
            {
                await ctx.WaitForExternalEvent<string>("Never", TimeSpan.FromMilliseconds(150));
                return "event";
            }
            catch (TaskCanceledException)
            {
                return "timed out";
            }
        }));
        Assert.Equal("timed out", (await host.RunAsync("Timeout")).ReadOutputAs<string>());
    }

    [Fact]
    public async Task WhenAny_EventBeatsTimer_TimerCancelled()
    {
        await using var host = await StartAsync(r => r.AddOrchestratorFunc<string?, string>("Race", async (ctx, _) =>
        {
            using var cts = new CancellationTokenSource();
            var timer = ctx.CreateTimer(TimeSpan.FromMinutes(10), cts.Token);
            var evt = ctx.WaitForExternalEvent<int>("Value");
            var winner = await Task.WhenAny(timer, evt);
            if (winner == evt) { cts.Cancel(); return $"event {evt.Result}"; }
            return "timer";
        }));
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Race");
        await host.Client.WaitForInstanceStartAsync(id);
        await host.Client.RaiseEventAsync(id, "Value", 42);
        Assert.Equal("event 42", (await host.WaitAsync(id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task SubOrchestration_CompletesAndFails_PropagatesToParent()
    {
        await using var host = await StartAsync(r => r
            .AddActivityFunc<int, int>("Double", (_, x) => x * 2)
            .AddActivityFunc<int, int>("Boom", (_, _) => Throw<int>(new InvalidOperationException("boom")))
            .AddOrchestratorFunc<int, int>("Child", async (ctx, x) => await ctx.CallActivityAsync<int>("Double", x))
            .AddOrchestratorFunc<int, int>("FailingChild", async (ctx, x) => await ctx.CallActivityAsync<int>("Boom", x))
            .AddOrchestratorFunc<string?, string>("Parent", async (ctx, _) =>
            {
                var a = await ctx.CallSubOrchestratorAsync<int>("Child", 21);
                try
                {
                    await ctx.CallSubOrchestratorAsync<int>("FailingChild", 1, new SubOrchestrationOptions(instanceId: ctx.InstanceId + "-child"));
                    return "no failure?";
                }
                catch (TaskFailedException ex)
                {
                    return $"{a} {ex.FailureDetails.ErrorMessage.Contains("boom", StringComparison.Ordinal)}";
                }
            }));
        var result = await host.RunAsync("Parent", instanceId: "parent1");
        Assert.Equal("42 True", result.ReadOutputAs<string>());
        var child = await host.Client.GetInstanceAsync("parent1-child");
        Assert.NotNull(child);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, child.RuntimeStatus);
        Assert.Equal("parent1", child.ParentInstanceId);
    }

    [Fact]
    public async Task ContinueAsNew_Counter_RestartsWithNewInputAndFreshHistory()
    {
        await using var host = await StartAsync(r => r
            .AddActivityFunc<int, int>("Inc", (_, x) => x + 1)
            .AddOrchestratorFunc<int, int>("Counter", async (ctx, n) =>
            {
                var next = await ctx.CallActivityAsync<int>("Inc", n);
                if (next < 5) { ctx.ContinueAsNew(next); return -1; }
                return next;
            }));
        var result = await host.RunAsync("Counter", 0);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(5, result.ReadOutputAs<int>());
        Assert.Equal(4, result.ReadInputAs<int>());
        var history = await host.Client.GetHistoryAsync(result.InstanceId);
        Assert.Single(history.OfType<TaskScheduledEvent>());
    }

    [Fact]
    public async Task ActivityThrows_InstanceFailsWithDetails_OthersUnaffected()
    {
        await using var host = await StartAsync(r =>
        {
            Hello(r);
            r.AddActivityFunc<string, string>("Throw", (_, _) => Throw<string>(new InvalidDataException("bad data in row 7")));
            r.AddOrchestratorFunc<string?, string>("Failing", async (ctx, _) => await ctx.CallActivityAsync<string>("Throw", "x"));
        });
        var failing = await host.Client.ScheduleNewOrchestrationInstanceAsync("Failing");
        var ok = await host.Client.ScheduleNewOrchestrationInstanceAsync("HelloSequence");
        var failed = await host.WaitAsync(failing);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.NotNull(failed.FailureDetails);
        Assert.Equal(typeof(TaskFailedException).FullName, failed.FailureDetails.ErrorType);
        Assert.Contains("bad data in row 7", failed.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.NotNull(failed.FailureDetails.InnerFailure);
        Assert.Equal(typeof(InvalidDataException).FullName, failed.FailureDetails.InnerFailure.ErrorType);
        Assert.False(string.IsNullOrEmpty(failed.FailureDetails.InnerFailure.StackTrace));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await host.WaitAsync(ok)).RuntimeStatus);
    }

    [Fact]
    public async Task UnknownOrchestratorAndActivity_InstanceFailsNamingIt()
    {
        await using var host = await StartAsync(r => r.AddOrchestratorFunc<string?, string>("CallsMissing",
            async (ctx, _) => await ctx.CallActivityAsync<string>("NoSuchActivity")));
        var a = await host.RunAsync("NoSuchOrchestrator");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, a.RuntimeStatus);
        Assert.Contains("NoSuchOrchestrator", a.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        var b = await host.RunAsync("CallsMissing");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, b.RuntimeStatus);
        Assert.Contains("NoSuchActivity", b.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InputDoesNotDeserialize_InstanceFailsNamingType()
    {
        await using var host = await StartAsync(r => r.AddOrchestratorFunc<int, int>("NeedsInt", (ctx, x) => Task.FromResult(x)));
        var result = await host.RunAsync("NeedsInt", "not a number");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("Int32", result.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_FailsTwiceThenSucceeds_CompletesAfterThreeAttempts()
    {
        var attempts = 0;
        await using var host = await StartAsync(r => r
            .AddActivityFunc<string?, int>("Flaky", (_, _) =>
            {
                var n = Interlocked.Increment(ref attempts);
                if (n < 3) throw new TimeoutException($"attempt {n}");
                return n;
            })
            .AddOrchestratorFunc<string?, int>("Retrying", async (ctx, _) =>
                await ctx.CallActivityAsync<int>("Flaky", null, new TaskOptions(new RetryPolicy(3, TimeSpan.FromMilliseconds(20), 2.0)))));
        var result = await host.RunAsync("Retrying");
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(3, result.ReadOutputAs<int>());
        Assert.Equal(3, attempts);
    }

    [Fact]
    public async Task Retry_Exhausted_Fails()
    {
        await using var host = await StartAsync(r => r
            .AddActivityFunc<string?, int>("AlwaysFails", (_, _) => Throw<int>(new TimeoutException("nope")))
            .AddOrchestratorFunc<string?, int>("Exhaust", async (ctx, _) =>
                await ctx.CallActivityAsync<int>("AlwaysFails", null, new TaskOptions(new RetryPolicy(2, TimeSpan.FromMilliseconds(10))))));
        var result = await host.RunAsync("Exhaust");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        var history = await host.Client.GetHistoryAsync(result.InstanceId);
        Assert.Equal(2, history.OfType<TaskFailedEvent>().Count());
    }

    [Fact]
    public async Task Retry_BackoffIntervals_HonouredOnInjectedClock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var attempts = 0;
        await using var host = await StartAsync(r => r
            .AddActivityFunc<string?, int>("Flaky", (_, _) =>
            {
                var n = Interlocked.Increment(ref attempts);
                if (n < 4) throw new TimeoutException($"attempt {n}");
                return n;
            })
            .AddOrchestratorFunc<string?, int>("Backoff", async (ctx, _) =>
                await ctx.CallActivityAsync<int>("Flaky", null, new TaskOptions(new RetryPolicy(4, TimeSpan.FromSeconds(10), 3.0, TimeSpan.FromSeconds(60))))),
            time: time);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Backoff");
        var expectedDelays = new[] { 10, 30, 60 }; // 10, 10*3, min(10*9, 60)
        for (var i = 0; i < expectedDelays.Length; i++)
        {
            // Wait until the retry timer is scheduled, then check it was not fired early.
            await WaitUntil(async () => (await host.Client.GetHistoryAsync(id)).OfType<TimerCreatedEvent>().Count() == i + 1);
            var timer = (await host.Client.GetHistoryAsync(id)).OfType<TimerCreatedEvent>().Last();
            var failedAt = (await host.Client.GetHistoryAsync(id)).OfType<TaskFailedEvent>().Last().Timestamp;
            Assert.Equal(TimeSpan.FromSeconds(expectedDelays[i]), timer.FireAt - failedAt);
            await Task.Delay(150);
            Assert.Equal(i + 1, attempts); // nothing runs before the clock reaches the fire time
            time.Advance(TimeSpan.FromSeconds(expectedDelays[i]));
        }
        var result = await host.WaitAsync(id);
        Assert.Equal(4, result.ReadOutputAs<int>());
    }

    private static async Task WaitUntil(Func<Task<bool>> condition, int timeoutSeconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not reached");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Terminate_RunningInstance_EndsTerminatedWithReason()
    {
        await using var host = await StartAsync(r => r.AddOrchestratorFunc<string?, string>("Forever",
            async (ctx, _) => await ctx.WaitForExternalEvent<string>("Never")));
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Forever");
        await host.Client.WaitForInstanceStartAsync(id);
        await host.Client.TerminateInstanceAsync(id, "operator said stop");
        var result = await host.WaitAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, result.RuntimeStatus);
        Assert.Equal("operator said stop", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task SuspendResume_EventsHeldWhileSuspended()
    {
        await using var host = await StartAsync(r => r.AddOrchestratorFunc<string?, string>("Suspendable",
            async (ctx, _) => await ctx.WaitForExternalEvent<string>("Go")));
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Suspendable");
        await host.Client.WaitForInstanceStartAsync(id);
        await host.Client.SuspendInstanceAsync(id, "maintenance");
        await host.WaitForStatusAsync(id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Suspended);
        await host.Client.RaiseEventAsync(id, "Go", "after resume");
        await Task.Delay(300);
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, (await host.Client.GetInstanceAsync(id))!.RuntimeStatus);
        await host.Client.ResumeInstanceAsync(id);
        var result = await host.WaitAsync(id);
        Assert.Equal("after resume", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Purge_FinishedInstance_RemovedButRunningKept()
    {
        await using var host = await StartAsync(r =>
        {
            Hello(r);
            r.AddOrchestratorFunc<string?, string>("Forever", async (ctx, _) => await ctx.WaitForExternalEvent<string>("Never"));
        });
        var done = await host.RunAsync("HelloSequence");
        var running = await host.Client.ScheduleNewOrchestrationInstanceAsync("Forever");
        await host.Client.WaitForInstanceStartAsync(running);
        Assert.Equal(0, (await host.Client.PurgeInstanceAsync(running)).PurgedInstanceCount);
        Assert.Equal(1, (await host.Client.PurgeInstanceAsync(done.InstanceId)).PurgedInstanceCount);
        Assert.Null(await host.Client.GetInstanceAsync(done.InstanceId));
        Assert.Empty(await host.Client.GetHistoryAsync(done.InstanceId));
        Assert.NotNull(await host.Client.GetInstanceAsync(running));
        var second = await host.RunAsync("HelloSequence");
        Assert.Equal(1, (await host.Client.PurgeAllInstancesAsync(new PurgeFilter())).PurgedInstanceCount);
        Assert.Null(await host.Client.GetInstanceAsync(second.InstanceId));
    }

    [Fact]
    public async Task Query_ByStatusPrefixAndCreatedRange_PagesThroughAll()
    {
        await using var host = await StartAsync(r =>
        {
            Hello(r);
            r.AddOrchestratorFunc<string?, string>("Forever", async (ctx, _) => await ctx.WaitForExternalEvent<string>("Never"));
        });
        var before = DateTime.UtcNow.AddSeconds(-1);
        for (var i = 0; i < 7; i++) await host.RunAsync("HelloSequence", instanceId: $"batch-a-{i}");
        for (var i = 0; i < 3; i++) await host.Client.ScheduleNewOrchestrationInstanceAsync("Forever", null, new StartOrchestrationOptions($"batch-b-{i}"));
        for (var i = 0; i < 3; i++) await host.Client.WaitForInstanceStartAsync($"batch-b-{i}");

        var pages = new List<Page<OrchestrationMetadata>>();
        await foreach (var page in host.Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = "batch-a-", PageSize = 3 }).AsPages())
            pages.Add(page);
        Assert.Equal(3, pages.Count);
        Assert.Equal(7, pages.Sum(p => p.Values.Count));
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"batch-a-{i}"), pages.SelectMany(p => p.Values).Select(m => m.InstanceId));

        var running = new List<string>();
        await foreach (var m in host.Client.GetAllInstancesAsync(new OrchestrationQuery { Statuses = [OrchestrationRuntimeStatus.Running] }))
            running.Add(m.InstanceId);
        Assert.Equal(["batch-b-0", "batch-b-1", "batch-b-2"], running);

        var none = await host.Client.QueryInstancesAsync(new OrchestrationQuery { CreatedTo = before });
        Assert.Empty(none.Values);
        var all = await host.Client.QueryInstancesAsync(new OrchestrationQuery { CreatedFrom = before, PageSize = 100 });
        Assert.Equal(10, all.Values.Count);
        Assert.Null(all.ContinuationToken);
    }

    [Fact]
    public async Task Schedule_ExistingRunningId_Throws()
    {
        await using var host = await StartAsync(r => r.AddOrchestratorFunc<string?, string>("Forever",
            async (ctx, _) => await ctx.WaitForExternalEvent<string>("Never")));
        await host.Client.ScheduleNewOrchestrationInstanceAsync("Forever", null, new StartOrchestrationOptions("dup"));
        await Assert.ThrowsAsync<InstanceAlreadyExistsException>(() =>
            host.Client.ScheduleNewOrchestrationInstanceAsync("Forever", null, new StartOrchestrationOptions("dup")));
    }

    [Fact]
    public async Task Schedule_StartAtInFuture_StaysPendingUntilDue()
    {
        await using var host = await StartAsync(Hello);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("HelloSequence", null,
            new StartOrchestrationOptions(StartAt: DateTimeOffset.UtcNow.AddSeconds(2)));
        await Task.Delay(200); // far from the start time even on a loaded machine
        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await host.Client.GetInstanceAsync(id))!.RuntimeStatus);
        var result = await host.WaitAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
    }

    [Fact]
    public async Task NonDeterministicCode_OnReplay_FailsNamingExpectedAndActual()
    {
        var flip = 0;
        await using var host = await StartAsync(r => r
            .AddActivityFunc<string?, string>("A", (_, _) => "a")
            .AddActivityFunc<string?, string>("B", (_, _) => "b")
            .AddOrchestratorFunc<string?, string>("Flaky", async (ctx, _) =>
            {
                // Deliberately non-deterministic: the first execution calls A, replays call B.
                var name = Interlocked.Increment(ref flip) == 1 ? "A" : "B";
                await ctx.CallActivityAsync<string>(name);
                await ctx.CallActivityAsync<string>("A");
                return "done";
            }), o => o.MaxCachedOrchestrations = 0);
        var result = await host.RunAsync("Flaky");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Equal(typeof(NonDeterministicOrchestrationException).FullName, result.FailureDetails!.ErrorType);
        Assert.Contains("'A'", result.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("'B'", result.FailureDetails.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReplaySafeValues_NewGuidAndTime_StableAcrossReplays()
    {
        await using var host = await StartAsync(r => r
            .AddActivityFunc<string, string>("Echo", (_, s) => s)
            .AddOrchestratorFunc<string?, List<string>>("Stable", async (ctx, _) =>
            {
                var g = ctx.NewGuid().ToString();
                var t = ctx.CurrentUtcDateTime.ToString("o");
                var list = new List<string> { g, t };
                for (var i = 0; i < 3; i++) list.Add(await ctx.CallActivityAsync<string>("Echo", g + t));
                return list;
            }), o => o.MaxCachedOrchestrations = 0);
        var result = (await host.RunAsync("Stable")).ReadOutputAs<List<string>>()!;
        Assert.All(result.Skip(2), s => Assert.Equal(result[0] + result[1], s));
    }

    [Fact]
    public async Task LargePayload_Over64KB_RoundTrips()
    {
        var big = new string('x', 200_000);
        await using var host = await StartAsync(r => r
            .AddActivityFunc<string, int>("Len", (_, s) => s.Length)
            .AddOrchestratorFunc<string, string>("Big", async (ctx, s) => $"{await ctx.CallActivityAsync<int>("Len", s)}:{s}"));
        var result = await host.RunAsync("Big", big);
        Assert.Equal($"200000:{big}", result.ReadOutputAs<string>());
        Assert.Equal(big, result.ReadInputAs<string>());
    }

    [Fact]
    public async Task WorkerPools_GpuActivity_RunsOnlyOnGpuWorker()
    {
        var ranOn = new ConcurrentBag<string>();
        void Register(DurableTaskRegistry r, string who) => r
            .AddActivityFunc<string?, string>("Train", (_, _) => { ranOn.Add(who); return who; }, WorkerPools.Gpu)
            .AddActivityFunc<string?, string>("Prepare", (_, _) => { ranOn.Add(who + "-prepare"); return who; })
            .AddOrchestratorFunc<string?, string>("Pipeline", async (ctx, _) =>
                await ctx.CallActivityAsync<string>("Prepare") + "/" + await ctx.CallActivityAsync<string>("Train"));
        await using var host = await StartAsync(r => Register(r, "main"));
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Pipeline");
        await Task.Delay(400);
        // Training waits: no worker serves the gpu pool yet.
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await host.Client.GetInstanceAsync(id))!.RuntimeStatus);
        var livePools = await host.Backend.GetLivePoolsAsync(DateTime.UtcNow.AddMinutes(-1));
        Assert.DoesNotContain(WorkerPools.Gpu, livePools);
        await host.AddWorkerAsync(r => Register(r, "gpu"), o => { o.Pools = [WorkerPools.Gpu]; o.ServeOrchestrations = false; });
        var result = await host.WaitAsync(id);
        Assert.Equal("main/gpu", result.ReadOutputAs<string>());
        Assert.Equal(["gpu", "main-prepare"], ranOn.Order());
    }

    [Fact]
    public async Task DuplicateActivityResult_AppliedOnce()
    {
        await using var host = await StartAsync(r => r
            .AddActivityFunc<int, int>("Id", (_, x) => x)
            .AddOrchestratorFunc<string?, int>("Dup", async (ctx, _) =>
            {
                var a = await ctx.CallActivityAsync<int>("Id", 1);
                var b = await ctx.WaitForExternalEvent<int>("Next");
                return a + b;
            }));
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Dup");
        await host.WaitForStatusAsync(id, _ => true);
        await WaitUntil(async () => (await host.Client.GetHistoryAsync(id)).OfType<TaskCompletedEvent>().Any());
        // Deliver the same activity result again, as an at-least-once queue may.
        await host.Backend.SendMessageAsync(new OrchestrationMessage(id, new TaskCompletedEvent { TaskScheduledId = 0, Result = "1" }));
        await host.Client.RaiseEventAsync(id, "Next", 10);
        var result = await host.WaitAsync(id);
        Assert.Equal(11, result.ReadOutputAs<int>());
        Assert.Single((await host.Client.GetHistoryAsync(id)).OfType<TaskCompletedEvent>());
    }

    [Fact]
    public async Task MessagesToFinishedInstance_Discarded()
    {
        await using var host = await StartAsync(Hello);
        var done = await host.RunAsync("HelloSequence");
        var before = (await host.Client.GetHistoryAsync(done.InstanceId)).Count;
        await host.Client.RaiseEventAsync(done.InstanceId, "Late", 1);
        await Task.Delay(300);
        var after = await host.Client.GetInstanceAsync(done.InstanceId, true);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, after!.RuntimeStatus);
        Assert.Equal(done.SerializedOutput, after.SerializedOutput);
        Assert.Equal(before, (await host.Client.GetHistoryAsync(done.InstanceId)).Count);
    }

    [DurableTask("Multiply")]
    [WorkerPool("math")]
    private sealed class MultiplyActivity : TaskActivity<int[], int>
    {
        public override Task<int> RunAsync(TaskActivityContext context, int[] input) => Task.FromResult(input[0] * input[1]);
    }

    private sealed class MultiplyOrchestrator : TaskOrchestrator<int, int>
    {
        public override async Task<int> RunAsync(TaskOrchestrationContext context, int input) =>
            await context.CallActivityAsync<int>("Multiply", new[] { input, input + 1 });
    }

    [Fact]
    public async Task ClassBased_OrchestratorAndActivityWithPoolAttribute_RunOnWorkerServingThatPool()
    {
        await using var host = await StartAsync(r => r.AddOrchestrator<MultiplyOrchestrator>().AddActivity<MultiplyActivity>(),
            o => o.Pools = ["math"]);
        var result = await host.RunAsync(nameof(MultiplyOrchestrator), 6);
        Assert.Equal(42, result.ReadOutputAs<int>());
        var history = await host.Client.GetHistoryAsync(result.InstanceId);
        Assert.Equal("math", history.OfType<TaskScheduledEvent>().Single().Pool);
    }

    [Fact]
    public async Task ReplaySafeLogger_LogsOncePerLiveStep_NotOnReplay()
    {
        var logged = new ConcurrentQueue<string>();
        await using var host = await TestHost.StartAsync(CreateBackend(), r => r
            .AddActivityFunc<int, int>("Id", (_, x) => x)
            .AddOrchestratorFunc<string?, int>("Logging", async (ctx, _) =>
            {
                var log = ctx.CreateReplaySafeLogger("test");
                var sum = 0;
                for (var i = 0; i < 3; i++)
                {
                    log.LogInformation("step {Step}", i);
                    sum += await ctx.CallActivityAsync<int>("Id", i);
                }
                return sum;
            }), o => o.MaxCachedOrchestrations = 0, loggerFactory: new ListLoggerFactory(logged));
        await host.RunAsync("Logging");
        Assert.Equal(["step 0", "step 1", "step 2"], logged.ToArray());
    }

    [Fact]
    public async Task GetInstance_WithoutInputsAndOutputs_OmitsThem()
    {
        await using var host = await StartAsync(Hello);
        var done = await host.RunAsync("HelloSequence", "input-value");
        var bare = await host.Client.GetInstanceAsync(done.InstanceId, getInputsAndOutputs: false);
        Assert.NotNull(bare);
        Assert.Null(bare.SerializedInput);
        Assert.Null(bare.SerializedOutput);
        var full = await host.Client.GetInstanceAsync(done.InstanceId, getInputsAndOutputs: true);
        Assert.Equal("\"input-value\"", full!.SerializedInput);
        Assert.NotNull(full.SerializedOutput);
    }

    [Fact]
    public async Task Retry_RetryTimeoutElapsed_StopsRetrying()
    {
        var attempts = 0;
        await using var host = await StartAsync(r => r
            .AddActivityFunc<string?, int>("Fails", (_, _) => { Interlocked.Increment(ref attempts); return Throw<int>(new TimeoutException("x")); })
            .AddOrchestratorFunc<string?, int>("TimeBoxed", async (ctx, _) =>
                await ctx.CallActivityAsync<int>("Fails", null, new TaskOptions(new RetryPolicy(50, TimeSpan.FromMilliseconds(100), retryTimeout: TimeSpan.FromMilliseconds(250))))));
        var result = await host.RunAsync("TimeBoxed");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.InRange(attempts, 1, 10); // far fewer than the 50 attempts allowed (a slow first attempt may use up the 250 ms)
    }

    [Fact]
    public async Task RaiseEvent_UnknownInstance_Throws()
    {
        await using var host = await StartAsync(Hello);
        var ex = await Assert.ThrowsAsync<InstanceNotFoundException>(() => host.Client.RaiseEventAsync("nope", "E", 1));
        Assert.Equal("nope", ex.InstanceId);
    }
}

/// <summary>The conformance suite on the in-memory backend.</summary>
public sealed class InMemoryBackendConformanceTests : BackendConformanceTests
{
    protected override IOrchestrationBackend CreateBackend(TimeProvider? time = null) => new InMemory.InMemoryOrchestrationBackend(time);
}

/// <summary>The conformance suite on the SQLite backend (a fresh file per test).</summary>
public sealed class SqliteBackendConformanceTests : BackendConformanceTests, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("durable-sqlite-").FullName;

    protected override IOrchestrationBackend CreateBackend(TimeProvider? time = null) =>
        new Sqlite.SqliteOrchestrationBackend(Path.Combine(_dir, $"{Guid.NewGuid():N}.db"), time);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}

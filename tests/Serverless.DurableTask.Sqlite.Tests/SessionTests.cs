using DurableTask.Core;

namespace Serverless.DurableTask.Sqlite.Tests;

/// <summary>
/// Extended sessions: the orchestrator stays loaded between turns and is resumed, not replayed; a session ends on idle
/// timeout and the instance is then replayed from the file. <see cref="Samples.Starts"/> counts how often an
/// orchestrator function was entered from its beginning (the first run plus one per replay).
/// </summary>
public sealed class SessionTests
{
    [Fact]
    public async Task Sequence_SessionsOn_OrchestratorRunsOnceWithoutReplay()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        await hub.RunAsync("Sequence", 10, "session-on");

        Assert.Equal(1, Samples.Starts["session-on"]);
    }

    [Fact]
    public async Task Sequence_SessionsOff_ReplaysOncePerActivityResult()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register, TestHub.Sessions(false));
        var state = await hub.RunAsync("Sequence", 10, "session-off");

        Assert.Equal(10, TestHub.Output<int>(state));
        Assert.Equal(11, Samples.Starts["session-off"]);
    }

    [Fact]
    public async Task Timer_LongerThanIdleTimeout_SessionEndsAndInstanceIsReplayedFromTheFile()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register, TestHub.Sessions(true, TimeSpan.FromMilliseconds(150)));
        var state = await hub.RunAsync("Timer", 800, "idle-timeout");

        Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
        Assert.Equal(2, Samples.Starts["idle-timeout"]);
    }

    [Fact]
    public async Task Timer_ShorterThanIdleTimeout_SessionWaitsAndResumesWithoutReplay()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var state = await hub.RunAsync("Timer", 300, "short-timer");

        Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
        Assert.Equal(1, Samples.Starts["short-timer"]);
    }

    [Fact]
    public async Task StopWorker_IdleSession_LockIsGivenBackForTheNextWorker()
    {
        var dir = Directory.CreateTempSubdirectory("dtfx-sqlite-").FullName;
        try
        {
            OrchestrationInstance instance;
            await using (var first = await TestHub.StartAsync(Samples.Register, directory: dir))
            {
                instance = await first.StartAsync("WaitEvent", "", "handover");
                await first.WaitForAsync(instance.InstanceId, s => s.Status == "\"waiting\"");
            }

            // The default lock timeout is 30 s: if the stopped worker kept the session's lock, this would time out.
            await using var second = await TestHub.StartAsync(Samples.Register, directory: dir);
            await second.Client.RaiseEventAsync(instance, "go", "next worker");
            var state = await second.WaitAsync(instance, 10);
            Assert.Equal("got next worker", TestHub.Output<string>(state));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

using System.Collections.Concurrent;
using DurableTask.Core;
using Serverless.DurableTask.Sqlite.Testing;

namespace Serverless.DurableTask.Sqlite.Tests;

/// <summary>Two workers (two services, two TaskHubWorkers) on one file in one process.</summary>
public sealed class MultiWorkerTests
{
    [Fact]
    public async Task TwoWorkersOneFile_TwentyOrchestrations_AllCompleteAndEveryActivityRunsOnce()
    {
        var runs = new ConcurrentDictionary<string, int>();
        void Register(TaskHubWorker worker, string name)
        {
            worker.AddTaskOrchestrations(SdkShims.Orchestrator<int, int>("Steps", async (ctx, n) =>
            {
                var sum = 0;
                for (var i = 0; i < n; i++) sum += await ctx.CallActivityAsync<int>("Step", $"{ctx.InstanceId}:{i}");
                return sum;
            }));
            worker.AddTaskActivities(SdkShims.Activity<string, int>("Step", async (_, key) =>
            {
                runs.AddOrUpdate(key!, 1, (_, v) => v + 1);
                await Task.Delay(5);
                return 1;
            }));
        }

        await using var hub = await TestHub.StartAsync(w => Register(w, "a"));
        await hub.StartWorkerAsync(hub.AddService(), w => Register(w, "b"));
        var instances = new List<OrchestrationInstance>();
        for (var i = 0; i < 20; i++) instances.Add(await hub.StartAsync("Steps", 4, $"two-{i}"));
        foreach (var instance in instances)
        {
            var state = await hub.WaitAsync(instance);
            Assert.Equal(4, TestHub.Output<int>(state));
        }

        Assert.Equal(80, runs.Count);
        Assert.All(runs.Values, count => Assert.Equal(1, count));
    }
}

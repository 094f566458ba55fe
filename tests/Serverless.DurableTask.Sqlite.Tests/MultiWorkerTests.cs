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

    /// <summary>
    /// A client reaching the file through a symlinked folder gets its own store (its own writer connection), exactly as
    /// another process would: the worker learns about its commits only through SQLite's data_version.
    /// </summary>
    [Fact]
    public async Task ClientAsAnotherProcess_StartAndRaiseEvent_WorkerSeesBothAndTheSessionResumesWithoutReplay()
    {
        await using var hub = await TestHub.StartAsync(Samples.Register);
        var alias = Path.Combine(Path.GetTempPath(), "dtfx-sqlite-alias-" + Guid.NewGuid().ToString("N"));
        Directory.CreateSymbolicLink(alias, hub.Directory);
        try
        {
            await using var other = new SqliteOrchestrationService(TestHub.Settings(Path.Combine(alias, "hub.db")));
            var client = new TaskHubClient(other, new global::DurableTask.Core.Serializing.JsonDataConverter(new Newtonsoft.Json.JsonSerializerSettings()));
            var instance = await client.CreateOrchestrationInstanceAsync("WaitEvent", "", "from-outside", "");
            await hub.WaitForAsync(instance.InstanceId, s => s.Status == "\"waiting\"", 10);
            await client.RaiseEventAsync(instance, "go", "over there");

            var state = await client.WaitForOrchestrationAsync(instance, TimeSpan.FromSeconds(10));
            Assert.Equal("got over there", TestHub.Output<string>(state!));
            Assert.Equal(1, Samples.Starts["from-outside"]); // the event reached the live session: no replay
        }
        finally
        {
            Directory.Delete(alias);
        }
    }
}

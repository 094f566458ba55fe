using System.Collections.Concurrent;
using Serverless.Durable.History;
using Serverless.Storage.Blobs;
using Serverless.Storage.Blobs.Models;
using Serverless.Storage.Queues;
using Serverless.Storage.Queues.Models;

namespace Serverless.Durable.AzureStorage.Tests;

/// <summary>
/// The paths that save storage calls: results batched into one blob and one control message, and the local shortcut
/// that hands the last outstanding activity's result straight to the instance's next turn. Each keeps the guarantee
/// that a completed activity does not run again when its work item is delivered again.
/// </summary>
[Collection("azurite")]
public sealed class BatchingTests(SharedAzurite azurite)
{
    private static void Register(DurableTaskRegistry r, ConcurrentDictionary<int, int> runs) => r
        .AddActivityFunc<int, int>("Work", (_, x) => { runs.AddOrUpdate(x, 1, (_, n) => n + 1); return x * 2; })
        .AddOrchestratorFunc<int, int>("Fan", async (ctx, n) =>
        {
            var tasks = new Task<int>[n];
            for (var i = 0; i < n; i++) tasks[i] = ctx.CallActivityAsync<int>("Work", i);
            return (await Task.WhenAll(tasks)).Sum();
        })
        .AddOrchestratorFunc<int, int>("Seq", async (ctx, n) =>
        {
            var x = 0;
            for (var i = 0; i < n; i++) x += await ctx.CallActivityAsync<int>("Work", i);
            return x;
        });

    [Fact]
    public async Task BatchedResults_RedeliveredWorkItemsFindTheirResultInTheBatchBlob_NotRunAgain()
    {
        const int n = 12;
        var hub = azurite.NewHub();
        var runs = new ConcurrentDictionary<int, int>();
        // 1. An orchestration-only worker (serving a pool nobody uses) schedules the fan-out.
        string id;
        await using (var orchestrations = await global::Serverless.Durable.Tests.TestHost.StartAsync(new AzureStorageOrchestrationBackend(hub), r => Register(r, runs), o => o.Pools = ["unused"]))
        {
            id = await orchestrations.Client.ScheduleNewOrchestrationInstanceAsync("Fan", n);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((await orchestrations.Client.GetHistoryAsync(id)).OfType<TaskScheduledEvent>().Count() < n)
            {
                Assert.True(DateTime.UtcNow < deadline, "the fan-out was not scheduled");
                await Task.Delay(100);
            }
        }
        // 2. An activity-only worker runs them; their results go out in batches and stay unapplied (no orchestration worker).
        IReadOnlyList<HistoryEvent> history;
        await using (var activities = await global::Serverless.Durable.Tests.TestHost.StartAsync(new AzureStorageOrchestrationBackend(hub), r => Register(r, runs), o => o.ServeOrchestrations = false))
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (runs.Count < n || await QueueCountAsync(hub, $"{hub.TaskHubName.ToLowerInvariant()}-workitems-default") > 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the activities did not run");
                await Task.Delay(100);
            }
            history = await activities.Client.GetHistoryAsync(id);
        }
        Assert.DoesNotContain(history, e => e is TaskCompletedEvent);
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient($"{hub.TaskHubName.ToLowerInvariant()}-history");
        var batched = new List<int>();
        var batches = 0;
        await foreach (var b in container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, Names.Blob(id) + "/results/"))
        {
            Assert.StartsWith(Names.Blob(id) + "/results/b-", b.Name, StringComparison.Ordinal);
            batches++;
            batched.AddRange(b.Metadata["tasks"].Split(',').Select(t => int.Parse(t, System.Globalization.CultureInfo.InvariantCulture)));
        }
        Assert.Equal(n, batched.Count);
        Assert.InRange(batches, 1, n);

        // 3. Every work item delivered again (as a repair re-sends them): none runs again, the results are re-sent.
        var queue = new QueueClient(azurite.ConnectionString, $"{hub.TaskHubName.ToLowerInvariant()}-workitems-default",
            new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var execution = history.OfType<ExecutionStartedEvent>().Single().ExecutionId!;
        foreach (var s in history.OfType<TaskScheduledEvent>())
        {
            var env = new ActivityEnvelope
            {
                Id = $"a:{execution}:{s.EventId}", Instance = id, Execution = execution, TaskId = s.EventId, Event = HistoryJson.Serialize(s), Resent = true,
            };
            await queue.SendMessageAsync(Json.Serialize(env));
        }
        // 4. A full worker: the orchestration completes with each result applied once, and nothing ran twice.
        await using var full = await global::Serverless.Durable.Tests.TestHost.StartAsync(new AzureStorageOrchestrationBackend(hub), r => Register(r, runs));
        var done = await full.WaitAsync(id, 90);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(Enumerable.Range(0, n).Sum() * 2, done.ReadOutputAs<int>());
        Assert.Equal(n, (await full.Client.GetHistoryAsync(id)).OfType<TaskCompletedEvent>().Count());
        var deadline2 = DateTime.UtcNow.AddSeconds(60);
        while (await QueueCountAsync(hub, $"{hub.TaskHubName.ToLowerInvariant()}-workitems-default") > 0)
        {
            Assert.True(DateTime.UtcNow < deadline2, "the re-sent work items were not consumed");
            await Task.Delay(100);
        }
        Assert.All(runs.Values, c => Assert.Equal(1, c));
    }

    [Fact]
    public async Task SequentialSteps_UseTheLocalShortcut_NoResultRecordsAndRedeliveryFoundInHistory()
    {
        const int n = 6;
        var hub = azurite.NewHub();
        var runs = new ConcurrentDictionary<int, int>();
        await using var host = await global::Serverless.Durable.Tests.TestHost.StartAsync(new AzureStorageOrchestrationBackend(hub), r => Register(r, runs));
        var done = await host.RunAsync("Seq", n, timeoutSeconds: 90);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(Enumerable.Range(0, n).Sum() * 2, done.ReadOutputAs<int>());
        // The steps' results went straight into the next turn: no result blob, no batch (a step whose completion
        // raced with its turn's unlock takes the ordinary path, so allow one).
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient($"{hub.TaskHubName.ToLowerInvariant()}-history");
        var records = 0;
        await foreach (var _ in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, Names.Blob(done.InstanceId) + "/results/")) records++;
        Assert.InRange(records, 0, 1);
        Assert.Equal(0, await QueueCountAsync(hub, $"{hub.TaskHubName.ToLowerInvariant()}-workitems-default"));

        // A work item delivered again after its turn committed (a crash before its delete) finds the result in history.
        var history = await host.Client.GetHistoryAsync(done.InstanceId);
        var execution = history.OfType<ExecutionStartedEvent>().Single().ExecutionId!;
        var s = history.OfType<TaskScheduledEvent>().First();
        var queue = new QueueClient(azurite.ConnectionString, $"{hub.TaskHubName.ToLowerInvariant()}-workitems-default",
            new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.SendMessageAsync(Json.Serialize(new ActivityEnvelope
        {
            Id = $"a:{execution}:{s.EventId}", Instance = done.InstanceId, Execution = execution, TaskId = s.EventId, Event = HistoryJson.Serialize(s), Local = true,
        }));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await QueueCountAsync(hub, $"{hub.TaskHubName.ToLowerInvariant()}-workitems-default") > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the redelivered work item was not consumed");
            await Task.Delay(100);
        }
        Assert.All(runs.Values, c => Assert.Equal(1, c));
        Assert.Equal(n, runs.Count);
    }

    private async Task<int> QueueCountAsync(AzureStorageBackendOptions hub, string name)
    {
        _ = hub;
        var queue = new QueueClient(azurite.ConnectionString, name);
        var props = await queue.GetPropertiesAsync();
        return props.Value.ApproximateMessagesCount;
    }
}

using System.Diagnostics;
using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.Hosting.Configuration;

namespace Serverless.Hosting.Tests.Faults;

/// <summary>
/// Worker processes SIGKILLed at chosen moments, on any provider: a subclass names the provider's host.json and app
/// settings (<see cref="AzureStorageWorkerKillTests"/>, <see cref="SqliteWorkerKillTests"/>). What DTFx guarantees and
/// these tests hold it to: an orchestration's progress is what its history records, so a killed turn is replayed from
/// history and nothing recorded runs again; activities run at least once, so an activity in flight at the kill runs
/// again on the next worker, and only such activities do.
/// </summary>
public abstract class WorkerKillTests : IDisposable
{
    private readonly List<Process> _processes = [];

    /// <summary>A fresh folder for logs and host.json files.</summary>
    protected string Folder { get; } = Directory.CreateTempSubdirectory("hosting-kill-").FullName;

    /// <summary>The host.json <c>storageProvider</c> object (JSON) with settings that let a takeover happen within seconds.</summary>
    protected abstract string StorageProviderJson { get; }

    /// <summary>Writes a host.json for a fresh task hub on the subclass's provider.</summary>
    private string WriteHostJson(string hub)
    {
        var path = Path.Combine(Folder, hub + ".host.json");
        File.WriteAllText(path, $$"""
            {
              "version": "2.0",
              "extensions": {
                "durableTask": {
                  "hubName": "{{hub}}",
                  "storageProvider": {{StorageProviderJson}},
                  "maxConcurrentActivityFunctions": {{MaxActivities}},
                  "maxConcurrentOrchestratorFunctions": {{MaxOrchestrations}}
                }
              }
            }
            """);
        return path;
    }

    /// <summary>App settings the host.json refers to (connection strings), as NAME=VALUE.</summary>
    protected abstract IReadOnlyList<string> AppSettings { get; }

    /// <summary>Extra worker arguments (e.g. short partition leases for Azure Storage).</summary>
    protected virtual IReadOnlyList<string> WorkerArguments => [];

    /// <summary>How long a worker may run an activity concurrently (host.json maxConcurrentActivityFunctions).</summary>
    protected const int MaxActivities = 4;

    /// <summary>How many orchestration turns a worker may run at once (host.json maxConcurrentOrchestratorFunctions).</summary>
    protected const int MaxOrchestrations = 8;

    private async Task<Process> StartWorkerAsync(string hostJson, string log, params string[] extra)
    {
        var args = new List<string> { "--host-json", hostJson };
        foreach (var s in AppSettings) args.AddRange(["--setting", s]);
        args.AddRange(WorkerArguments);
        args.AddRange(extra);
        var p = await WorkerProcess.StartAsync(log, args);
        _processes.Add(p);
        return p;
    }

    /// <summary>A client-only host (no worker) on the same hub, as a CLI would run.</summary>
    private IHost StartClient(string hostJson)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var settings = AppSettings.Select(s => s.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        builder.Services.AddDurableTaskHostingClient(o =>
        {
            o.HostJsonPath = hostJson;
            o.ReadAppSetting = name => settings.GetValueOrDefault(name);
            o.HomeDirectory = Folder;
        });
        var host = builder.Build();
        host.Start();
        return host;
    }

    private static async Task<OrchestrationMetadata> WaitAsync(DurableTaskClient client, string id, int seconds = 120)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        return await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
    }

    private static string Pid(Process p) => p.Id.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task KillMidActivity_RestartedWorker_CompletesRunningOnlyTheInterruptedActivityAgain()
    {
        var hostJson = WriteHostJson("killact" + Guid.NewGuid().ToString("N")[..8]);
        var log = Path.Combine(Folder, "activity.log");
        var a = await StartWorkerAsync(hostJson, log, "--hang-activity", "2");
        using var clientHost = StartClient(hostJson);
        var client = clientHost.Services.GetRequiredService<DurableTaskClient>();
        await client.ScheduleNewOrchestrationInstanceAsync("CrashSequence", 4, new StartOrchestrationOptions("kill-activity"));
        await WorkerProcess.WaitForFileAsync(log + ".hung", a);
        WorkerProcess.KillHard(a);

        var b = await StartWorkerAsync(hostJson, log);
        var result = await WaitAsync(client, "kill-activity");

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(0 + 1 + 2 + 3, result.ReadOutputAs<int>());
        var lines = WorkerProcess.Lines(log);
        // Steps 0 and 1 completed and were recorded before the kill: they never ran again.
        foreach (var step in new[] { "0", "1" })
        {
            Assert.Equal([Pid(a)], lines.Where(l => l[0] == "start" && l[2] == step).Select(l => l[3]));
            Assert.Equal([Pid(a)], lines.Where(l => l[0] == "done" && l[2] == step).Select(l => l[3]));
        }
        // Step 2 was in flight: at least once means it ran again, on the new worker, and finished there only.
        Assert.Equal([Pid(a), Pid(b)], lines.Where(l => l[0] == "start" && l[2] == "2").Select(l => l[3]));
        Assert.Equal([Pid(b)], lines.Where(l => l[0] == "done" && l[2] == "2").Select(l => l[3]));
        Assert.Equal([Pid(b)], lines.Where(l => l[0] == "done" && l[2] == "3").Select(l => l[3]));
    }

    [Fact]
    public async Task KillMidOrchestrationTurn_RestartedWorker_ReplaysHistoryAndRunsNoActivityTwice()
    {
        var hostJson = WriteHostJson("killturn" + Guid.NewGuid().ToString("N")[..8]);
        var log = Path.Combine(Folder, "turn.log");
        var a = await StartWorkerAsync(hostJson, log, "--hang-turn", "1");
        using var clientHost = StartClient(hostJson);
        var client = clientHost.Services.GetRequiredService<DurableTaskClient>();
        await client.ScheduleNewOrchestrationInstanceAsync("CrashSequence", 4, new StartOrchestrationOptions("kill-turn"));
        await WorkerProcess.WaitForFileAsync(log + ".hung", a);
        WorkerProcess.KillHard(a);

        var b = await StartWorkerAsync(hostJson, log);
        var result = await WaitAsync(client, "kill-turn");

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(0 + 1 + 2 + 3, result.ReadOutputAs<int>());
        var lines = WorkerProcess.Lines(log);
        // The killed turn had not committed: the new worker replayed steps 0 and 1 from history without running them.
        for (var step = 0; step < 4; step++)
        {
            var s = step.ToString(CultureInfo.InvariantCulture);
            Assert.Single(lines, l => l[0] == "start" && l[2] == s);
            Assert.Single(lines, l => l[0] == "done" && l[2] == s);
        }
        Assert.Equal(Pid(a), lines.Single(l => l[0] == "done" && l[2] == "1")[3]);
        Assert.Equal(Pid(b), lines.Single(l => l[0] == "done" && l[2] == "2")[3]);
        // The new worker ran live turns for steps 2 and 3 only: earlier turns were replays.
        Assert.Equal(["2", "3"], lines.Where(l => l[0] == "turn" && l[3] == Pid(b)).Select(l => l[2]));
    }

    [Fact]
    public async Task TwoWorkers_OneKilledMidRunOf50_OtherTakesOverAndCompletesAll()
    {
        var hostJson = WriteHostJson("killtwo" + Guid.NewGuid().ToString("N")[..8]);
        var log = Path.Combine(Folder, "two.log");
        var a = await StartWorkerAsync(hostJson, log, "--step-ms", "20");
        var b = await StartWorkerAsync(hostJson, log, "--step-ms", "20");
        using var clientHost = StartClient(hostJson);
        var client = clientHost.Services.GetRequiredService<DurableTaskClient>();
        const int instances = 50, steps = 4;
        for (var i = 0; i < instances; i++)
            await client.ScheduleNewOrchestrationInstanceAsync("CrashSequence", steps, new StartOrchestrationOptions($"run-{i}"));

        // Kill A in the middle of the run: once both workers have run orchestration turns, well before all finished.
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var lines = WorkerProcess.Lines(log);
            if (lines.Count(l => l[0] == "turn" && l[3] == Pid(a)) >= 20 && lines.Any(l => l[0] == "turn" && l[3] == Pid(b))) break;
            Assert.True(DateTime.UtcNow < deadline, "both workers did not run orchestrations");
            await Task.Delay(10);
        }
        WorkerProcess.KillHard(a);
        var atKill = WorkerProcess.Lines(log);
        Assert.True(atKill.Count(l => l[0] == "done") < instances * steps, "the run finished before the kill");
        var ranOnA = atKill.Where(l => l[0] == "turn" && l[3] == Pid(a)).Select(l => l[1]).ToHashSet();

        for (var i = 0; i < instances; i++)
        {
            var m = await WaitAsync(client, $"run-{i}", 180);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, m.RuntimeStatus);
            Assert.Equal(0 + 1 + 2 + 3, m.ReadOutputAs<int>());
        }

        var final = WorkerProcess.Lines(log);
        // B took over A's work (Azure Storage: A's partitions; SQLite: A's instance locks once expired): instances whose
        // turns A had run before the kill, and that were not finished then, got their later turns from B.
        var takenOver = ranOnA.Where(id => final.Any(l => l[0] == "turn" && l[1] == id && l[3] == Pid(b))).ToList();
        Assert.NotEmpty(takenOver);
        Assert.DoesNotContain(final.Skip(atKill.Length), l => l[3] == Pid(a));
        // Every step finished. Activities run at least once, not exactly once: a step runs again when A was killed with
        // it in flight (started, or finished with its result not yet recorded: at most A's concurrent activities), when
        // A's turn had sent an activity message but died before recording the turn, so B's replay of that turn schedules
        // the step again (at most A's concurrent turns), or, rarely, when a worker renewed an activity's queue visibility
        // too late (here 10 s, renewed every 5 s, on a loaded machine). Far fewer than the 200 steps run twice.
        var done = final.Where(l => l[0] == "done").GroupBy(l => (l[1], l[2])).ToDictionary(g => g.Key, g => g.Select(l => l[3]).ToList());
        Assert.Equal(instances * steps, done.Count);
        var twice = done.Where(d => d.Value.Count > 1).ToList();
        Assert.True(twice.Count <= 2 * (MaxActivities + MaxOrchestrations), $"{twice.Count} activities ran twice: {string.Join(", ", twice.Select(t => t.Key))}");
        Assert.All(twice, d => Assert.True(d.Value.Count == 2, $"{d.Key} ran {d.Value.Count} times"));
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try { if (!p.HasExited) WorkerProcess.KillHard(p); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        try { Directory.Delete(Folder, true); } catch (IOException) { }
    }
}

/// <summary>The kill tests on DTFx's Azure Storage provider against a shared Azurite.</summary>
[Collection("http-azurite")]
public sealed class AzureStorageWorkerKillTests(Http.SharedAzurite azurite) : WorkerKillTests
{
    /// <inheritdoc/>
    protected override IReadOnlyList<string> AppSettings => [$"KillStorage={azurite.ConnectionString}"];

    /// <summary>Partition leases of 3 s (DTFx's default is 30 s), so a dead worker's partitions move within seconds.</summary>
    protected override IReadOnlyList<string> WorkerArguments => ["--lease-ms", "3000"];

    /// <summary>
    /// Queue visibility of 10 s (default 5 min): a killed worker's dequeued messages reappear after it; a live worker
    /// renews the visibility of a running activity every 5 s. Four partitions over two workers.
    /// </summary>
    protected override string StorageProviderJson => """
        {
          "connectionStringName": "KillStorage", "partitionCount": 4, "maxQueuePollingInterval": "00:00:00.100",
          "controlQueueVisibilityTimeout": "00:00:10", "workItemQueueVisibilityTimeout": "00:00:10"
        }
        """;
}

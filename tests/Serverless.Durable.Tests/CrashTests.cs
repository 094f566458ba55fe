using System.Diagnostics;
using Serverless.Durable.Sqlite;

namespace Serverless.Durable.Tests;

/// <summary>
/// Crash safety with real processes: a worker process (tests/Serverless.Durable.TestHost) is killed with
/// SIGKILL in the middle of an activity or of an orchestration turn, and a new process finishes the work.
/// Activities log "start"/"done" lines to a file, so executions are counted, not assumed.
/// </summary>
public sealed class CrashTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("durable-crash-").FullName;
    private readonly List<Process> _processes = [];

    private string Db => Path.Combine(_dir, "hub.db");
    private string Log => Path.Combine(_dir, "side-effects.log");

    private static string HostDll()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        var config = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) dir = dir.Parent;
        if (dir == null) throw new InvalidOperationException("Serverless.sln not found above " + AppContext.BaseDirectory);
        var dll = Path.Combine(dir.FullName, "tests", "Serverless.Durable.TestHost", "bin", config, "net10.0", "Serverless.Durable.TestHost.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("The crash-test worker was not built: " + dll);
        return dll;
    }

    private async Task<Process> StartWorkerAsync(params string[] extra)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(HostDll());
        foreach (var a in new[] { "--db", Db, "--log", Log, "--lock-ms", "1500" }.Concat(extra)) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
        var ready = Log + ".ready." + p.Id;
        await WaitForFileAsync(ready, p);
        return p;
    }

    private static async Task WaitForFileAsync(string path, Process? process = null, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!File.Exists(path))
        {
            if (process is { HasExited: true }) throw new InvalidOperationException($"worker exited with code {process.ExitCode} before {Path.GetFileName(path)}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException("timed out waiting for " + path);
            await Task.Delay(20);
        }
    }

    private static void KillHard(Process p)
    {
        p.Kill(entireProcessTree: true); // SIGKILL on Linux: no finally blocks, no graceful shutdown
        p.WaitForExit();
    }

    private Dictionary<string, int> CountLines()
    {
        var counts = new Dictionary<string, int>();
        foreach (var line in File.ReadAllLines(Log))
        {
            if (line.Length == 0) continue;
            counts[line] = counts.GetValueOrDefault(line) + 1;
        }
        return counts;
    }

    private async Task<OrchestrationMetadata> RunToCompletionAfterAsync(Func<Task> crash, string instanceId, int steps)
    {
        await using var backend = new SqliteOrchestrationBackend(Db);
        await backend.InitializeAsync();
        var client = new DurableTaskClient(backend);
        await client.ScheduleNewOrchestrationInstanceAsync("CrashSequence", steps, new StartOrchestrationOptions(instanceId));
        await crash();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        return await client.WaitForInstanceCompletionAsync(instanceId, true, cts.Token);
    }

    [Fact]
    public async Task KillDuringActivity_RestartedWorker_CompletesAndRerunsOnlyInFlightActivity()
    {
        const int steps = 6, hangAt = 3;
        var first = await StartWorkerAsync("--hang-activity", hangAt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var result = await RunToCompletionAfterAsync(async () =>
        {
            await WaitForFileAsync(Log + ".hung", first);
            KillHard(first);
            await StartWorkerAsync();
        }, "kill-activity", steps);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(Enumerable.Range(0, steps).Sum(), result.ReadOutputAs<int>());
        var counts = CountLines();
        for (var i = 0; i < steps; i++)
        {
            Assert.Equal(1, counts.GetValueOrDefault($"done kill-activity {i}"));
            Assert.Equal(i == hangAt ? 2 : 1, counts.GetValueOrDefault($"start kill-activity {i}"));
        }
    }

    [Fact]
    public async Task KillDuringOrchestrationTurn_RestartedWorker_ReplaysWithoutRerunningActivities()
    {
        const int steps = 6, hangAfter = 2;
        var first = await StartWorkerAsync("--hang-turn", hangAfter.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var result = await RunToCompletionAfterAsync(async () =>
        {
            await WaitForFileAsync(Log + ".hung", first);
            KillHard(first);
            await StartWorkerAsync();
        }, "kill-turn", steps);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(Enumerable.Range(0, steps).Sum(), result.ReadOutputAs<int>());
        var counts = CountLines();
        for (var i = 0; i < steps; i++)
        {
            Assert.Equal(1, counts.GetValueOrDefault($"start kill-turn {i}"));
            Assert.Equal(1, counts.GetValueOrDefault($"done kill-turn {i}"));
        }
    }

    [Fact]
    public async Task TwoWorkerProcesses_SameFile_EveryActivityRunsOnce()
    {
        await StartWorkerAsync();
        await StartWorkerAsync();
        await using var backend = new SqliteOrchestrationBackend(Db);
        await backend.InitializeAsync();
        var client = new DurableTaskClient(backend);
        const int instances = 12, steps = 4;
        for (var i = 0; i < instances; i++)
            await client.ScheduleNewOrchestrationInstanceAsync("CrashSequence", steps, new StartOrchestrationOptions($"shared-{i}"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        for (var i = 0; i < instances; i++)
        {
            var m = await client.WaitForInstanceCompletionAsync($"shared-{i}", true, cts.Token);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, m.RuntimeStatus);
        }
        var counts = CountLines();
        for (var i = 0; i < instances; i++)
        for (var s = 0; s < steps; s++)
            Assert.Equal(1, counts.GetValueOrDefault($"done shared-{i} {s}"));
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try { if (!p.HasExited) KillHard(p); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}

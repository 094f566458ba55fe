using System.Diagnostics;
using System.Globalization;
using DurableTask.Core;

namespace Serverless.DurableTask.Sqlite.Tests;

/// <summary>
/// Crash safety with real processes: worker processes (tests/Serverless.DurableTask.Sqlite.TestHost) on one file are
/// killed with SIGKILL at chosen moments, and the work finishes in another process. Activities append "start" and
/// "done" lines to a log, so executions are counted, not assumed. DTFx guarantees activities at least once: an activity
/// that was running when its worker died runs again; one whose result was committed never does.
/// </summary>
public sealed class CrashTests : IDisposable
{
    private const int LockMs = 3000;
    private readonly string _dir = Directory.CreateTempSubdirectory("dtfx-sqlite-crash-").FullName;
    private readonly List<Process> _processes = [];

    private string Db => Path.Combine(_dir, "hub.db");
    private string Log => Path.Combine(_dir, "side-effects.log");

    private static string HostDll()
    {
        var config = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) dir = dir.Parent;
        if (dir == null) throw new InvalidOperationException("Serverless.sln not found above " + AppContext.BaseDirectory);
        var dll = Path.Combine(dir.FullName, "tests", "Serverless.DurableTask.Sqlite.TestHost", "bin", config, "net10.0", "Serverless.DurableTask.Sqlite.TestHost.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("The crash-test worker was not built: " + dll);
    }

    private async Task<Process> StartWorkerAsync(params string[] extra)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(HostDll());
        foreach (var a in new[] { "--db", Db, "--log", Log, "--lock-ms", LockMs.ToString(CultureInfo.InvariantCulture) }.Concat(extra)) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
        await WaitForAsync(() => File.Exists(Log + ".ready." + p.Id), p, "ready");
        return p;
    }

    private static async Task WaitForAsync(Func<bool> condition, Process? process, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (process is { HasExited: true }) throw new InvalidOperationException($"worker exited with code {process.ExitCode} before {what}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException("timed out waiting for " + what);
            await Task.Delay(20);
        }
    }

    private static void KillHard(Process p)
    {
        p.Kill(entireProcessTree: true); // SIGKILL: no finally blocks, no graceful stop, locks left to expire
        p.WaitForExit();
    }

    private Dictionary<string, int> CountLines() =>
        File.Exists(Log)
            ? File.ReadAllLines(Log).Where(l => l.Length > 0).GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count())
            : [];

    private SqliteOrchestrationService Client() =>
        new(new SqliteOrchestrationServiceSettings { DatabasePath = Db, PollingInterval = TimeSpan.FromMilliseconds(50) });

    /// <summary>
    /// Starts a worker told to hang at step <paramref name="hangAt"/> (<paramref name="hangOption"/>), starts the
    /// instance, kills the worker once it hangs, starts a fresh worker and waits for the instance to finish.
    /// </summary>
    private async Task<OrchestrationState> KillAndRestartAsync(string instanceId, int steps, string hangOption, int hangAt)
    {
        var first = await StartWorkerAsync(hangOption, hangAt.ToString(CultureInfo.InvariantCulture));
        await using var service = Client();
        var client = new TaskHubClient(service);
        var instance = await client.CreateOrchestrationInstanceAsync("CrashSequence", "", instanceId, steps);
        await WaitForAsync(() => File.Exists(Log + ".hung"), first, "the hang at step " + hangAt);
        KillHard(first);
        await StartWorkerAsync();
        var state = await client.WaitForOrchestrationAsync(instance, TimeSpan.FromSeconds(90))
            ?? throw new TimeoutException(instanceId + " did not finish after the restart");
        Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
        Assert.Equal(Enumerable.Range(0, steps).Sum().ToString(CultureInfo.InvariantCulture), state.Output);
        return state;
    }

    [Fact]
    public async Task KillDuringActivity_RestartedWorker_CompletesAndRerunsOnlyTheInterruptedActivity()
    {
        const int steps = 6, hangAt = 3;
        await KillAndRestartAsync("kill-activity", steps, "--hang-activity", hangAt);

        var lines = CountLines();
        for (var i = 0; i < steps; i++)
        {
            Assert.Equal(1, lines.GetValueOrDefault($"done kill-activity {i}"));
            // At least once: the interrupted activity started twice (killed, then run again); every other once.
            Assert.Equal(i == hangAt ? 2 : 1, lines.GetValueOrDefault($"start kill-activity {i}"));
        }
    }

    [Fact]
    public async Task KillDuringOrchestrationTurn_RestartedWorker_LosesNothingAndRerunsNoActivity()
    {
        const int steps = 6, hangAfter = 2;
        await KillAndRestartAsync("kill-turn", steps, "--hang-turn", hangAfter);

        var lines = CountLines();
        for (var i = 0; i < steps; i++)
        {
            // The killed turn had received step 2's result but not committed: the result message was still in the
            // file, so the new worker replayed without running step 2 (or any earlier step) again.
            Assert.Equal(1, lines.GetValueOrDefault($"start kill-turn {i}"));
            Assert.Equal(1, lines.GetValueOrDefault($"done kill-turn {i}"));
        }
    }

    [Fact]
    public async Task TwoWorkerProcesses_OneKilledMidRun_TheOtherFinishesAllFifty()
    {
        const int instances = 50, steps = 3;
        var a = await StartWorkerAsync();
        await StartWorkerAsync();
        await using var service = Client();
        var client = new TaskHubClient(service);
        var started = new List<OrchestrationInstance>();
        for (var i = 0; i < instances; i++) started.Add(await client.CreateOrchestrationInstanceAsync("CrashSequence", "", $"shared-{i}", steps));

        await WaitForAsync(() => CountLines().Keys.Count(k => k.StartsWith("done ", StringComparison.Ordinal)) >= 20, a, "20 finished activities");
        KillHard(a);

        foreach (var instance in started)
        {
            var state = await client.WaitForOrchestrationAsync(instance, TimeSpan.FromSeconds(90))
                ?? throw new TimeoutException(instance.InstanceId + " did not finish after the kill");
            Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
            Assert.Equal("3", state.Output); // 0 + 1 + 2
        }
        var lines = CountLines();
        for (var i = 0; i < instances; i++)
        for (var s = 0; s < steps; s++)
            Assert.True(lines.GetValueOrDefault($"done shared-{i} {s}") >= 1, $"step {s} of shared-{i} never finished");
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try
            {
                if (!p.HasExited) KillHard(p);
            }
            catch (InvalidOperationException)
            {
            }
            p.Dispose();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, true);
        }
        catch (IOException)
        {
        }
    }
}

using System.Diagnostics;
using Serverless.Pipelines.Hosting.Cli;

namespace Serverless.FunctionApp.Tests;

/// <summary>The CLI's pipeline commands, in process and as a real child process killed with SIGKILL.</summary>
public sealed class CliPipelineTests : IDisposable
{
    private readonly string home = Directory.CreateTempSubdirectory("cli-pipe-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(home, true); } catch (IOException) { }
    }

    private static async Task<(int Code, string Out, string Err)> CliAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Run_SamplePipelineTwice_ArtifactsTableThenAllCachedAndLineageListsUpstream()
    {
        var file = Repo.CopySample(Path.Combine(home, "p"));
        var first = await CliAsync("run", file, "--home", home, "--run-id", "one");
        Assert.True(first.Code == 0, first.Out + first.Err);
        Assert.Contains("count                COMPLETE", first.Out, StringComparison.Ordinal);
        Assert.Contains("penguins/count/statistics/one-", first.Out, StringComparison.Ordinal);
        var second = await CliAsync("run", file, "--home", home, "--run-id", "two");
        Assert.Contains("3 nodes: 0 executed, 3 cached", second.Out, StringComparison.Ordinal);

        var runs = await CliAsync("runs", "--home", home);
        Assert.Contains("one", runs.Out, StringComparison.Ordinal);
        Assert.Contains("two", runs.Out, StringComparison.Ordinal);
        var status = await CliAsync("status", "one", "--home", home);
        Assert.Contains("Succeeded", status.Out, StringComparison.Ordinal);
        var lineage = await CliAsync("lineage", "one/count.statistics", "--home", home);
        Assert.True(lineage.Code == 0, lineage.Err);
        Assert.Contains("ExampleStatistics", lineage.Out, StringComparison.Ordinal);
        Assert.Contains("penguins/import/examples/one-", lineage.Out, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(home, "p", "data", "penguins.csv"), lineage.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_SyntaxErrorOrMissingData_ErrorBeforeRun()
    {
        var bad = Path.Combine(home, "bad.yaml");
        await File.WriteAllTextAsync(bad, "name: x\nnodes:\n  - id: a\n    component: FileCopy\n   parameters: [\n");
        var syntax = await CliAsync("run", bad, "--home", home);
        Assert.Equal(1, syntax.Code);
        Assert.Contains($"{bad}:5:", syntax.Err, StringComparison.Ordinal);
        Assert.Contains("YAML syntax error", syntax.Err, StringComparison.Ordinal);

        var file = Repo.CopySample(Path.Combine(home, "p"));
        var missing = await CliAsync("run", file, "--home", home, "--param", "source=/no/such/penguins.csv");
        Assert.Equal(1, missing.Code);
        Assert.Contains("/no/such/penguins.csv", missing.Err, StringComparison.Ordinal);
        Assert.Contains("the run was not started", missing.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("penguins-", (await CliAsync("runs", "--home", home)).Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_KilledWithSigkillMidPipeline_RestartExecutesOnlyUnfinishedNodes()
    {
        var folder = Path.Combine(home, "p");
        Repo.CopySample(folder);
        var log = Path.Combine(home, "executions.log");
        var file = Path.Combine(folder, "slow.yaml");
        await File.WriteAllTextAsync(file, $$"""
            name: slow
            nodes:
              - id: import
                component: FileCopy
                parameters: { source: data/penguins.csv }
              - id: fast
                component: Sleep
                inputs: { examples: import.examples }
                parameters: { seconds: 0, log: "{{log}}" }
              - id: slow
                component: Sleep
                inputs: { examples: fast.examples }
                parameters: { seconds: 3, log: "{{log}}" }
              - id: after
                component: Sleep
                inputs: { examples: slow.examples }
                parameters: { seconds: 0, log: "{{log}}" }
            """);

        using (var first = Cli("run", file, "--run-id", "crash"))
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!(File.Exists(log) && (await File.ReadAllTextAsync(log)).Contains("start slow", StringComparison.Ordinal)))
            {
                if (DateTime.UtcNow > deadline)
                {
                    first.Kill();
                    Assert.Fail("the slow node never started: " + await first.StandardError.ReadToEndAsync());
                }

                await Task.Delay(20);
            }

            first.Kill(); // SIGKILL on Linux: no shutdown code runs
            await first.WaitForExitAsync();
        }

        Assert.Equal(["start fast", "end fast", "start slow"], await File.ReadAllLinesAsync(log));
        using var second = Cli("run", file, "--run-id", "crash");
        var output = await second.StandardOutput.ReadToEndAsync();
        await second.WaitForExitAsync();
        Assert.True(second.ExitCode == 0, output + await second.StandardError.ReadToEndAsync());
        Assert.Contains("resuming run crash", output, StringComparison.Ordinal);
        // fast ran once; slow ran again (its first attempt was killed) and finished once; after ran once.
        Assert.Equal(["start fast", "end fast", "start slow", "start slow", "end slow", "start after", "end after"], await File.ReadAllLinesAsync(log));
    }

    [Fact]
    public async Task Run_NodeKilledAtEveryStart_FailsAfterMaxNodeStartsInsteadOfCrashLooping()
    {
        var folder = Path.Combine(home, "p");
        Repo.CopySample(folder);
        var log = Path.Combine(home, "poison.log");
        var file = Repo.WriteSleepPipeline(folder, "poison", 60, log);
        var hostJson = Path.Combine(home, "host.json");
        await File.WriteAllTextAsync(hostJson, """{ "version": "2.0", "extensions": { "pipelines": { "limits": { "maxNodeStarts": 2 } } } }""");

        // Each start of the node dies with its process (as an activity killed for memory would), twice.
        for (var kill = 1; kill <= 2; kill++)
        {
            using var process = Cli("run", file, "--run-id", "poison", "--host-json", hostJson);
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (!File.Exists(log) || (await File.ReadAllLinesAsync(log)).Count(l => l == "start hog") < kill)
            {
                if (DateTime.UtcNow > deadline)
                {
                    process.Kill();
                    Assert.Fail($"start {kill} of the node never came: " + await process.StandardError.ReadToEndAsync());
                }

                await Task.Delay(20);
            }

            process.Kill(); // SIGKILL
            await process.WaitForExitAsync();
        }

        using var last = Cli("run", file, "--run-id", "poison", "--host-json", hostJson);
        var output = await last.StandardOutput.ReadToEndAsync();
        await last.WaitForExitAsync();
        Assert.Equal(1, last.ExitCode);
        Assert.Contains("was started 2 times without finishing", output, StringComparison.Ordinal);
        Assert.Equal(2, (await File.ReadAllLinesAsync(log)).Count(l => l == "start hog"));
    }

    private Process Cli(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipelines.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.ArgumentList.Add("--home");
        info.ArgumentList.Add(home);
        info.Environment["SERVERLESS_COMPONENTS"] = typeof(SleepComponent).Assembly.Location;
        return Process.Start(info)!;
    }
}

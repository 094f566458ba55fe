using System.Diagnostics;
using System.Globalization;
using DurableTask.AzureStorage;
using DurableTask.Core;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Hosting;
using Serverless.Hosting.Client;
using Serverless.Hosting.Configuration;
using Serverless.Hosting.Providers;

namespace Benchmarks.Suites;

/// <summary>
/// <c>durable --backend azurestorage</c>: the same measurements as the durable suite, through the real runtime
/// (Microsoft.DurableTask classes on DTFx's TaskHubWorker, Serverless.Hosting) on DTFx's Azure Storage provider against
/// an Azurite started for the run (on disk). <c>--tuning local</c> (default) applies the single-machine settings of
/// shared/Serverless.Hosting/README.md; <c>--tuning default</c> runs Durable Functions' defaults, for the before/after
/// comparison. Individual settings: <c>--poll-ms</c>, <c>--partitions</c>, <c>--extended-sessions true|false</c>,
/// <c>--max-activities</c>, <c>--max-orchestrations</c>.
/// </summary>
internal static class DurableHostingBench
{
    private const string Connection = "BenchStorage";

    public static async Task RunAsync(BenchmarkContext context)
    {
        if (context.Options.Get("replay-child", "") is { Length: > 0 } connection)
        {
            await ReplayChildAsync(context, connection, context.Options.Get("hub", ""), context.Options.Get("instance", ""));
            return;
        }
        var quick = context.Options.Quick;
        var only = context.Options.Get("only", "all");
        bool Run(string phase) => only == "all" || only == phase;
        var tuning = context.Options.Get("tuning", "local");
        var durable = tuning switch
        {
            "local" => new Dictionary<string, string>
            {
                ["maxConcurrentActivityFunctions"] = context.Options.Get("max-activities", "100"),
                ["maxConcurrentOrchestratorFunctions"] = context.Options.Get("max-orchestrations", "100"),
                ["extendedSessionsEnabled"] = context.Options.Get("extended-sessions", "true"),
            },
            "default" => [],
            _ => throw new ArgumentException($"unknown --tuning '{tuning}' (local, default)"),
        };
        var storage = tuning == "local"
            ? new Dictionary<string, string>
            {
                ["partitionCount"] = context.Options.Get("partitions", "1"),
                ["maxQueuePollingInterval"] = $"\"{TimeSpan.FromMilliseconds(double.Parse(context.Options.Get("poll-ms", "50"), CultureInfo.InvariantCulture)):c}\"",
            }
            : new Dictionary<string, string>();
        await using var azurite = await Serverless.Testing.Azurite.AzuriteProcess.StartAsync();
        var extra = new Dictionary<string, object> { ["backend"] = "azurestorage", ["tuning"] = tuning, ["azurite"] = "on-disk" };
        foreach (var (k, v) in durable.Concat(storage)) extra[k] = v.Trim('"');

        string HostJson(string hub)
        {
            var sp = string.Join("", storage.Select(kv => $",\"{kv.Key}\":{kv.Value}"));
            var dt = string.Join("", durable.Select(kv => $",\"{kv.Key}\":{kv.Value}"));
            return $"{{\"extensions\":{{\"durableTask\":{{\"hubName\":\"{hub}\",\"storageProvider\":{{\"connectionStringName\":\"{Connection}\"{sp}}}{dt}}}}}}}";
        }

        async Task<IHost> StartAsync(string hub)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            var settings = HostJsonReader.Parse(HostJson(hub), "bench-host.json");
            builder.Services.AddDurableTaskHosting(o =>
            {
                o.Settings = settings;
                o.ReadAppSetting = name => name == Connection ? azurite.ConnectionString : null;
                o.HomeDirectory = azurite.DataFolder;
            }).AddTasks(Register);
            var host = builder.Build();
            await host.StartAsync();
            return host;
        }

        static async Task<string> RunOneAsync(DurableTaskClient client, string name, object? input)
        {
            var id = await client.ScheduleNewOrchestrationInstanceAsync(name, input);
            var m = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: false);
            if (m.RuntimeStatus != OrchestrationRuntimeStatus.Completed) throw new InvalidOperationException($"{name} ended {m.RuntimeStatus}: {m.FailureDetails?.ErrorMessage}");
            return id;
        }

        var seqN = int.Parse(context.Options.Get("sequential-count", quick ? "50" : "200"), CultureInfo.InvariantCulture);
        if (Run("sequential"))
        {
            using var h = await StartAsync("benchseq");
            var client = h.Services.GetRequiredService<DurableTaskClient>();
            await RunOneAsync(client, "Sequential", 10); // warm-up (JIT, queues, tables)
            var sw = Stopwatch.StartNew();
            await RunOneAsync(client, "Sequential", seqN);
            context.Report("sequential_activities_per_s", seqN / sw.Elapsed.TotalSeconds, "1/s", extra);
            await h.StopAsync();
        }
        var fanN = int.Parse(context.Options.Get("fanout-count", quick ? "300" : "1000"), CultureInfo.InvariantCulture);
        var replayN = quick ? 1000 : 4995; // 4,995 activities: 2 x 4,995 task events plus the turn markers, about 10,000
        string? replayInstance = null;
        if (Run("fanout") || Run("replay"))
        {
            using var h = await StartAsync("benchfan");
            var client = h.Services.GetRequiredService<DurableTaskClient>();
            await RunOneAsync(client, "FanOut", 50);
            if (Run("fanout"))
            {
                var sw = Stopwatch.StartNew();
                await RunOneAsync(client, "FanOut", fanN);
                context.Report("fanout_activities_per_s", fanN / sw.Elapsed.TotalSeconds, "1/s", extra);
            }
            if (Run("replay")) replayInstance = await RunOneAsync(client, "FanOut", replayN);
            await h.StopAsync();
        }
        var helloN = int.Parse(context.Options.Get("hello-count", quick ? "50" : "200"), CultureInfo.InvariantCulture);
        if (Run("hello"))
        {
            using var h = await StartAsync("benchhello");
            var client = h.Services.GetRequiredService<DurableTaskClient>();
            await RunOneAsync(client, "HelloSequence5", null);
            var sw = Stopwatch.StartNew();
            var ids = new List<string>(helloN);
            for (var i = 0; i < helloN; i++) ids.Add(await client.ScheduleNewOrchestrationInstanceAsync("HelloSequence5"));
            foreach (var id in ids)
            {
                var m = await client.WaitForInstanceCompletionAsync(id);
                if (m.RuntimeStatus != OrchestrationRuntimeStatus.Completed) throw new InvalidOperationException($"{id} ended {m.RuntimeStatus}");
            }
            context.Report("hello_sequence5_orchestrations_per_s", helloN / sw.Elapsed.TotalSeconds, "1/s", extra);
            await h.StopAsync();
        }
        if (replayInstance is not null)
        {
            // In a fresh process, so that its peak working set is the replay's own.
            var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(DurableHostingBench).Assembly.Location);
            foreach (var a in new[] { "durable", "--backend", "azurestorage", "--replay-child", azurite.ConnectionString, "--hub", "benchfan", "--instance", replayInstance })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var output = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            Console.Write(output);
            if (p.ExitCode != 0) throw new InvalidOperationException($"replay child failed with exit code {p.ExitCode}");
        }
    }

    /// <summary>
    /// Loads the instance's history from Azure Storage and replays it through DTFx's executor and the SDK's shim, as a
    /// worker does when the orchestration is not in memory (no extended session). Reports load + replay.
    /// </summary>
    private static async Task ReplayChildAsync(BenchmarkContext context, string connection, string hub, string instanceId)
    {
        var settings = AzureStorageProviderFactory.Map(
            new DurableTaskHostSettings { HubName = hub, StorageProvider = DurableTaskHostSettings.Default().StorageProvider }, connection);
        var service = new AzureStorageOrchestrationService(settings);
        var client = new DurableTaskFrameworkClient(hub, service);
        var total = Stopwatch.StartNew();
        var history = await client.GetOrchestrationHistoryAsync(instanceId);
        var loadMs = total.Elapsed.TotalMilliseconds;
        var replay = Stopwatch.StartNew();
        var shims = new DurableTaskShimFactory(new DurableTaskWorkerOptions { DataConverter = DurableJson.Converter }, NullLoggerFactory.Instance);
        var orchestration = shims.CreateOrchestration(new TaskName("FanOut"), new FanOutOrchestrator(), null);
        var events = history.Where(e => e is not ExecutionCompletedEvent).ToList();
        var result = new TaskOrchestrationExecutor(new OrchestrationRuntimeState(events), orchestration, BehaviorOnContinueAsNew.Carryover, ErrorPropagationMode.UseFailureDetails).Execute();
        replay.Stop();
        total.Stop();
        if (!result.Actions.OfType<DurableTask.Core.Command.OrchestrationCompleteOrchestratorAction>().Any(a => a.OrchestrationStatus == OrchestrationStatus.Completed))
            throw new InvalidOperationException("replayed orchestration did not reach its end");
        var extra = new Dictionary<string, object>
        {
            ["backend"] = "azurestorage", ["events"] = history.Count,
            ["load_ms"] = Math.Round(loadMs, 1), ["replay_ms"] = Math.Round(replay.Elapsed.TotalMilliseconds, 1),
        };
        context.Report("replay_10k_events_ms", total.Elapsed.TotalMilliseconds, "ms", extra);
        context.Report("replay_10k_events_peak_mb", BenchmarkContext.PeakWorkingSetMb(), "MB", extra);
        service.Dispose();
    }

    private static void Register(DurableTaskRegistry r) => r
        .AddActivityFunc<int, int>("Inc", (_, x) => x + 1)
        .AddActivityFunc<string?, string>("Hello", (_, s) => "Hello " + s)
        .AddOrchestratorFunc<int, int>("Sequential", async (ctx, n) =>
        {
            var x = 0;
            for (var i = 0; i < n; i++) x = await ctx.CallActivityAsync<int>("Inc", x);
            return x;
        })
        .AddOrchestrator<FanOutOrchestrator>()
        .AddOrchestratorFunc<string?, string>("HelloSequence5", async (ctx, _) =>
        {
            var s = "";
            for (var i = 0; i < 5; i++) s = await ctx.CallActivityAsync<string>("Hello", s.Length.ToString(CultureInfo.InvariantCulture));
            return s;
        });

    /// <summary>Fans out n trivial activities and counts the results (class-based so the replay child can build it).</summary>
    [DurableTask("FanOut")]
    private sealed class FanOutOrchestrator : TaskOrchestrator<int, int>
    {
        public override async Task<int> RunAsync(TaskOrchestrationContext context, int n)
        {
            var tasks = new Task<int>[n];
            for (var i = 0; i < n; i++) tasks[i] = context.CallActivityAsync<int>("Inc", i);
            var results = await Task.WhenAll(tasks);
            return results.Length;
        }
    }
}

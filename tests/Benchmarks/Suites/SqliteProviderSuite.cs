using System.Diagnostics;
using System.Globalization;
using DurableTask.Core;
using DurableTask.Core.Serializing;
using Microsoft.DurableTask;
using Serverless.DurableTask.Sqlite;
using Serverless.DurableTask.Sqlite.Testing;

namespace Benchmarks.Suites;

/// <summary>
/// The SQLite provider under DTFx's real dispatchers (TaskHubWorker + TaskHubClient), orchestrations written with the
/// Microsoft.DurableTask SDK: sequential activities, fan-out/fan-in, many concurrent HelloSequence5, and the replay of a
/// 10,000-event history by a freshly started worker process. Settings are the provider's defaults (extended sessions on,
/// 10 x cores concurrent work items, synchronous=NORMAL in WAL) unless an option says otherwise:
/// <c>--full-sync true</c> (synchronous=FULL), <c>--sessions false</c>, <c>--only sequential|fanout|hello|replay</c>,
/// <c>--quick</c> (smaller counts), <c>--profile true</c> (a stopwatch breakdown of each sequential step, see
/// <see cref="ProfilingOrchestrationService"/>, and the process CPU time per step).
/// </summary>
public sealed class SqliteProviderSuite : IBenchmarkSuite
{
    /// <inheritdoc/>
    public string Name => "durable-sqlite";

    /// <inheritdoc/>
    public async Task RunAsync(BenchmarkContext context)
    {
        var options = context.Options;
        if (options.Get("replay-child", "") is { Length: > 0 } childDb)
        {
            await ReplayChildAsync(context, childDb, options.Get("instance", ""));
            return;
        }
        var quick = options.Quick;
        var only = options.Get("only", "all");
        bool Run(string phase) => only == "all" || only == phase;
        var fullSync = options.Get("full-sync", "false") == "true";
        var sessions = options.Get("sessions", "true") == "true";
        var profile = options.Get("profile", "false") == "true";
        var extra = new Dictionary<string, object>
        {
            ["provider"] = "sqlite",
            ["synchronous"] = fullSync ? "FULL" : "NORMAL",
            ["extendedSessions"] = sessions,
            ["maxConcurrentWorkItems"] = 10 * Environment.ProcessorCount,
        };
        var dir = Directory.CreateTempSubdirectory("bench-dtfx-sqlite-").FullName;
        try
        {
            SqliteOrchestrationServiceSettings Settings(string name) => new()
            {
                DatabasePath = Path.Combine(dir, name + ".db"),
                FullSync = fullSync,
                ExtendedSessionsEnabled = sessions,
            };

            if (Run("sequential"))
            {
                var n = int.Parse(options.Get("sequential-count", quick ? "300" : "2000"), CultureInfo.InvariantCulture);
                await using var h = await Hub.StartAsync(Settings("seq"), profile);
                await h.RunAsync("Sequential", 20);
                h.Profiler?.Reset();
                await MeasureAsync(context, "sequential_activities_per_s", n, extra, () => h.RunAsync("Sequential", n));
                if (h.Profiler != null)
                {
                    foreach (var (segment, count, mean) in h.Profiler.Report())
                        context.Report("profile_sequential_segment_us", mean, "us", new Dictionary<string, object> { ["segment"] = segment, ["count"] = count });
                }
            }
            if (Run("fanout"))
            {
                var n = quick ? 2000 : 10_000;
                await using var h = await Hub.StartAsync(Settings("fan"));
                await h.RunAsync("FanOut", 100);
                await MeasureAsync(context, "fanout_activities_per_s", n, extra, () => h.RunAsync("FanOut", n));
            }
            if (Run("hello"))
            {
                var n = quick ? 200 : 1000;
                await using var h = await Hub.StartAsync(Settings("hello"));
                await h.RunAsync("HelloSequence5", "");
                await MeasureAsync(context, "hello_sequence5_orchestrations_per_s", n, extra, async () =>
                {
                    var instances = new List<OrchestrationInstance>(n);
                    for (var i = 0; i < n; i++) instances.Add(await h.Client.CreateOrchestrationInstanceAsync("HelloSequence5", "", ""));
                    foreach (var instance in instances) await h.WaitAsync(instance);
                });
            }
            if (Run("replay"))
            {
                // A fan-out of 4,995 activities leaves 2 x 4,995 task events plus the turn markers: about 10,000 events.
                // It then waits for an event; a new worker process receives the event and replays the whole history once.
                var db = Path.Combine(dir, "replay.db");
                string id;
                await using (var h = await Hub.StartAsync(Settings("replay")))
                {
                    var instance = await h.Client.CreateOrchestrationInstanceAsync("FanOutThenWait", "", quick ? 1000 : 4995);
                    id = instance.InstanceId;
                    while ((await h.Client.GetOrchestrationStateAsync(id))?.Status != "\"waiting\"") await Task.Delay(50);
                }
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
                if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(SqliteProviderSuite).Assembly.Location);
                foreach (var a in new[] { Name, "--replay-child", db, "--instance", id }) psi.ArgumentList.Add(a);
                using var p = Process.Start(psi)!;
                var output = await p.StandardOutput.ReadToEndAsync();
                await p.WaitForExitAsync();
                Console.Write(output);
                if (p.ExitCode != 0) throw new InvalidOperationException($"replay child failed with exit code {p.ExitCode}");
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// Measures a phase: wall time, and the process's CPU time per item (less sensitive than throughput to other work on a
    /// shared machine), reported with the 1-minute load average so that figures from a busy machine can be told apart.
    /// </summary>
    private static async Task MeasureAsync(BenchmarkContext context, string metric, int items, Dictionary<string, object> extra, Func<Task> run)
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        await run();
        sw.Stop();
        process.Refresh();
        var fields = new Dictionary<string, object>(extra)
        {
            ["items"] = items,
            ["cpu_us_per_item"] = Math.Round((process.TotalProcessorTime - cpu).TotalMicroseconds / items, 1),
            ["loadavg_1min"] = LoadAverage(),
        };
        context.Report(metric, items / sw.Elapsed.TotalSeconds, "1/s", fields);
    }

    private static double LoadAverage() =>
        File.Exists("/proc/loadavg") ? double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture) : -1;

    /// <summary>
    /// In a fresh process: a worker with extended sessions off receives the event the orchestration waits for, loads its
    /// 10,000-event history from the file and replays it in one turn. Measured from raising the event to completion.
    /// </summary>
    private static async Task ReplayChildAsync(BenchmarkContext context, string db, string instanceId)
    {
        await using var h = await Hub.StartAsync(new SqliteOrchestrationServiceSettings { DatabasePath = db, ExtendedSessionsEnabled = false });
        var events = (await h.Client.GetOrchestrationStateAsync(instanceId))!;
        var sw = Stopwatch.StartNew();
        await h.Client.RaiseEventAsync(events.OrchestrationInstance, "go", "now");
        var state = await h.WaitAsync(events.OrchestrationInstance);
        sw.Stop();
        if (state.OrchestrationStatus != OrchestrationStatus.Completed) throw new InvalidOperationException($"replayed orchestration ended {state.OrchestrationStatus}");
        var history = await h.Client.GetOrchestrationHistoryAsync(state.OrchestrationInstance);
        var count = Newtonsoft.Json.Linq.JArray.Parse(history).Count;
        var extra = new Dictionary<string, object> { ["provider"] = "sqlite", ["events"] = count, ["extendedSessions"] = false, ["loadavg_1min"] = LoadAverage() };
        context.Report("replay_10k_events_ms", sw.Elapsed.TotalMilliseconds, "ms", extra);
        context.Report("replay_10k_events_peak_mb", BenchmarkContext.PeakWorkingSetMb(), "MB", extra);
    }

    private static void Register(TaskHubWorker worker)
    {
        worker.AddTaskActivities(
            SdkShims.Activity<int, int>("Inc", (_, x) => Task.FromResult(x + 1)),
            SdkShims.Activity<string, string>("Hello", (_, s) => Task.FromResult<string?>("Hello " + s)));
        worker.AddTaskOrchestrations(
            SdkShims.Orchestrator<int, int>("Sequential", async (ctx, n) =>
            {
                var x = 0;
                for (var i = 0; i < n; i++) x = await ctx.CallActivityAsync<int>("Inc", x);
                return x;
            }),
            SdkShims.Orchestrator<int, int>("FanOut", async (ctx, n) =>
            {
                var tasks = new Task<int>[n];
                for (var i = 0; i < n; i++) tasks[i] = ctx.CallActivityAsync<int>("Inc", i);
                return (await Task.WhenAll(tasks)).Length;
            }),
            SdkShims.Orchestrator<int, int>("FanOutThenWait", async (ctx, n) =>
            {
                var tasks = new Task<int>[n];
                for (var i = 0; i < n; i++) tasks[i] = ctx.CallActivityAsync<int>("Inc", i);
                var count = (await Task.WhenAll(tasks)).Length;
                ctx.SetCustomStatus("waiting");
                await ctx.WaitForExternalEvent<string>("go");
                return count;
            }),
            SdkShims.Orchestrator<string, string>("HelloSequence5", async (ctx, _) =>
            {
                var s = "";
                for (var i = 0; i < 5; i++) s = await ctx.CallActivityAsync<string>("Hello", s.Length.ToString(CultureInfo.InvariantCulture)) ?? "";
                return s;
            }));
    }

    private sealed class Hub : IAsyncDisposable
    {
        private readonly SqliteOrchestrationService _service;
        private readonly TaskHubWorker _worker;

        private Hub(SqliteOrchestrationService service, TaskHubWorker worker, ProfilingOrchestrationService? profiler)
        {
            _service = service;
            _worker = worker;
            Profiler = profiler;
            Client = new TaskHubClient(service, new JsonDataConverter(new Newtonsoft.Json.JsonSerializerSettings()));
        }

        public TaskHubClient Client { get; }

        public ProfilingOrchestrationService? Profiler { get; }

        public static async Task<Hub> StartAsync(SqliteOrchestrationServiceSettings settings, bool profile = false)
        {
            var service = new SqliteOrchestrationService(settings);
            await service.CreateIfNotExistsAsync();
            var profiler = profile ? new ProfilingOrchestrationService(service) : null;
            var worker = new TaskHubWorker((IOrchestrationService?)profiler ?? service) { ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails };
            Register(worker);
            await worker.StartAsync();
            return new Hub(service, worker, profiler);
        }

        public async Task RunAsync(string name, object input)
        {
            var instance = await Client.CreateOrchestrationInstanceAsync(name, "", input);
            await WaitAsync(instance);
        }

        public async Task<OrchestrationState> WaitAsync(OrchestrationInstance instance)
        {
            var state = await Client.WaitForOrchestrationAsync(instance, TimeSpan.FromMinutes(10));
            if (state?.OrchestrationStatus != OrchestrationStatus.Completed)
                throw new InvalidOperationException($"{instance.InstanceId} ended {state?.OrchestrationStatus}: {state?.FailureDetails}");
            return state;
        }

        public async ValueTask DisposeAsync()
        {
            await _worker.StopAsync(isForced: true);
            await _service.DisposeAsync();
        }
    }
}

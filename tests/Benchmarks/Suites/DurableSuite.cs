using System.Diagnostics;
using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.Hosting;
using Serverless.Hosting.Configuration;
using Serverless.Hosting.Providers;

namespace Benchmarks.Suites;

/// <summary>
/// <c>durable --backend sqlite|azurestorage|inmemory|all</c>: the real runtime (Microsoft.DurableTask classes on DTFx's
/// TaskHubWorker, hosted by Serverless.Hosting from a host.json as a user's app is) on each storage provider, through
/// the same code and with the same metric names, each line tagged with its <c>backend</c>:
/// <c>sequential_activities_per_s</c> (one orchestration calling a trivial activity n times in a row),
/// <c>fanout_activities_per_s</c>, <c>hello_sequence5_orchestrations_per_s</c> (many started at once),
/// <c>replay_10k_events_ms</c> / <c>replay_10k_events_peak_mb</c> (a fresh process loads a 10,000-event history through
/// the client and replays it through DTFx's executor and the SDK's shim, as a worker without the orchestration in
/// memory does). <c>inmemory</c> is the peer whose storage costs nothing: DTFx on the in-memory orchestration service
/// of Microsoft.DurableTask.InProcessTestHost (no replay phase: nothing outlives its process). <c>all</c> runs the three
/// and compares them in one run: <c>sqlite_over_azurestorage_sequential_ratio</c>,
/// <c>sqlite_over_inmemory_sequential_ratio</c>, <c>sqlite_over_inmemory_fanout_ratio</c>. With the fan-out, the run
/// also times DTFx's per-result history scan alone (<see cref="DtfxReconcileProbe"/>): the rate it leaves one
/// orchestration whatever the storage.
/// Each throughput line also carries the process's CPU time per item and the 1-minute load average (the machine is
/// shared; CPU per item is the steadier figure).
/// <para>SQLite runs the provider's defaults (extended sessions on, 10 x cores concurrent work items,
/// <c>synchronous=NORMAL</c>): <c>--full-sync true</c>, <c>--extended-sessions false</c> change them, <c>--profile true</c>
/// splits each sequential step and the fan-out's turns by stopwatch (<see cref="ProfilingOrchestrationService"/>). Azure
/// Storage runs against an Azurite started for the run (on disk; <c>--azurite memory</c> without its stores) with <c>--tuning local</c> (default: the single-machine settings of
/// shared/Serverless.Hosting/README.md) or <c>--tuning default</c> (Durable Functions' defaults); <c>--poll-ms</c>,
/// <c>--partitions</c>, <c>--max-activities</c>, <c>--max-orchestrations</c>, <c>--extended-sessions</c> override them.
/// <c>--only sequential|fanout|hello|replay</c>, <c>--quick</c> (smaller counts), <c>--sequential-count</c>,
/// <c>--fanout-count</c>, <c>--hello-count</c>.</para>
/// <para>Warm-up (<c>--warmup steady</c>, the default): each phase first runs its own workload twice, unmeasured, each
/// time followed by a second without work, so that the figures are a running worker's, not the JIT's. .NET compiles a
/// method quickly first and optimizes it only once it has been called often, and it starts counting calls only 100 ms
/// after the last method compiled for the first time: a worker busy from its start keeps compiling new methods, so
/// much of DTFx's, the SDK's and the provider's hot code was still unoptimized after one warm-up run (sequential chain
/// 1,400-2,200/s against 4,800/s for the same build with <c>DOTNET_TC_CallCountingDelayMs=0</c>; see the SQLite
/// provider's README). <c>--warmup full</c> is one warm-up run without the pauses, <c>--warmup short</c> the first
/// warm-up (20 steps, 50 activities, one orchestration).</para>
/// </summary>
public sealed class DurableSuite : IBenchmarkSuite
{
    private const string Connection = "BenchStorage";

    /// <summary>The options that shape host.json; the replay child gets them too, to configure the backend the same way.</summary>
    private static readonly string[] HostJsonOptions = ["full-sync", "extended-sessions", "max-activities", "max-orchestrations", "tuning", "partitions", "poll-ms"];

    /// <inheritdoc/>
    public string Name => "durable";

    /// <inheritdoc/>
    public async Task RunAsync(BenchmarkContext context)
    {
        var backendOption = context.Options.Get("backend", "sqlite");
        if (context.Options.Get("replay-child", "") is { Length: > 0 } connection)
        {
            await ReplayChildAsync(context, Configure(context, backendOption), connection, context.Options.Get("hub", ""), context.Options.Get("instance", ""));
            return;
        }
        string[] backends = backendOption switch
        {
            "all" => ["sqlite", "azurestorage", "inmemory"],
            "sqlite" or "azurestorage" or "inmemory" => [backendOption],
            _ => throw new ArgumentException($"unknown --backend '{backendOption}' (sqlite, azurestorage, inmemory, all)"),
        };
        var rates = new Dictionary<(string Backend, string Phase), double>();
        foreach (var backend in backends) await RunBackendAsync(context, Configure(context, backend), rates);
        void Ratio(string metric, string phase, string over)
        {
            if (rates.TryGetValue(("sqlite", phase), out var sqlite) && rates.TryGetValue((over, phase), out var other))
                context.Report(metric, sqlite / other, "x", new Dictionary<string, object> { ["loadavg_1min"] = LoadAverage() });
        }
        Ratio("sqlite_over_azurestorage_sequential_ratio", "sequential", "azurestorage");
        Ratio("sqlite_over_inmemory_sequential_ratio", "sequential", InMemoryFactory.Type);
        Ratio("sqlite_over_inmemory_fanout_ratio", "fanout", InMemoryFactory.Type);
        var only = context.Options.Get("only", "all");
        if (only is "all" or "fanout") ReportReconcileBound(context);
    }

    /// <summary>
    /// DTFx's own per-result history scan for a fan-out of the suite's size, timed with no provider
    /// (<see cref="DtfxReconcileProbe"/>): <c>dtfx_reconcile_fanout_us_per_result</c> and the rate it alone allows one
    /// orchestration, <c>dtfx_reconcile_fanout_bound_per_s</c>. Three runs after one unmeasured; the fastest is reported.
    /// </summary>
    private static void ReportReconcileBound(BenchmarkContext context)
    {
        var n = int.Parse(context.Options.Get("fanout-count", context.Options.Quick ? "2000" : "10000"), CultureInfo.InvariantCulture);
        const int Batch = 50;
        DtfxReconcileProbe.MicrosecondsPerResult(n, Batch);
        var best = Enumerable.Range(0, 3).Select(_ => DtfxReconcileProbe.MicrosecondsPerResult(n, Batch)).Min();
        var extra = new Dictionary<string, object> { ["backend"] = "none", ["items"] = n, ["batch"] = Batch, ["loadavg_1min"] = LoadAverage() };
        context.Report("dtfx_reconcile_fanout_us_per_result", best, "us", extra);
        context.Report("dtfx_reconcile_fanout_bound_per_s", 1e6 / best, "1/s", extra);
    }

    /// <summary>How one backend is configured: its host.json fragments and the fields its report lines carry.</summary>
    private sealed record Backend(string Name, Dictionary<string, string> Storage, Dictionary<string, string> Durable, Dictionary<string, object> Extra)
    {
        public string HostJson(string hub)
        {
            var sp = string.Join("", Storage.Select(kv => $",\"{kv.Key}\":{kv.Value}"));
            var dt = string.Join("", Durable.Select(kv => $",\"{kv.Key}\":{kv.Value}"));
            return $"{{\"extensions\":{{\"durableTask\":{{\"hubName\":\"{hub}\",\"storageProvider\":{{\"connectionStringName\":\"{Connection}\"{sp}}}{dt}}}}}}}";
        }
    }

    private static Backend Configure(BenchmarkContext context, string name)
    {
        var o = context.Options;
        var durable = new Dictionary<string, string>();
        var storage = new Dictionary<string, string>();
        void Option(Dictionary<string, string> target, string option, string key, string? fallback)
        {
            var value = o.Get(option, fallback ?? "");
            if (value.Length > 0) target[key] = value;
        }
        if (name == InMemoryFactory.Type)
        {
            // DTFx's dispatchers with the hosting library's default concurrency, as for SQLite.
            storage["type"] = $"\"{InMemoryFactory.Type}\"";
            Option(durable, "max-activities", "maxConcurrentActivityFunctions", null);
            Option(durable, "max-orchestrations", "maxConcurrentOrchestratorFunctions", null);
        }
        else if (name == "sqlite")
        {
            // The provider's defaults unless an option says otherwise.
            storage["type"] = "\"sqlite\"";
            Option(storage, "full-sync", "fullSync", null);
            Option(durable, "extended-sessions", "extendedSessionsEnabled", null);
            Option(durable, "max-activities", "maxConcurrentActivityFunctions", null);
            Option(durable, "max-orchestrations", "maxConcurrentOrchestratorFunctions", null);
        }
        else
        {
            var tuning = o.Get("tuning", "local");
            var local = tuning switch
            {
                "local" => true,
                "default" => false,
                _ => throw new ArgumentException($"unknown --tuning '{tuning}' (local, default)"),
            };
            Option(durable, "max-activities", "maxConcurrentActivityFunctions", local ? "100" : null);
            Option(durable, "max-orchestrations", "maxConcurrentOrchestratorFunctions", local ? "100" : null);
            Option(durable, "extended-sessions", "extendedSessionsEnabled", local ? "true" : null);
            Option(storage, "partitions", "partitionCount", local ? "1" : null);
            if (o.Get("poll-ms", local ? "50" : "") is { Length: > 0 } poll)
                storage["maxQueuePollingInterval"] = $"\"{TimeSpan.FromMilliseconds(double.Parse(poll, CultureInfo.InvariantCulture)):c}\"";
        }
        var extra = new Dictionary<string, object> { ["backend"] = name };
        if (name == "azurestorage") extra["tuning"] = o.Get("tuning", "local");
        foreach (var (k, v) in durable.Concat(storage).Where(kv => kv.Key != "type")) extra[k] = v.Trim('"');
        return new Backend(name, storage, durable, extra);
    }

    /// <summary>Runs the four measurements on one backend; adds each throughput to <paramref name="rates"/> by phase.</summary>
    private static async Task RunBackendAsync(BenchmarkContext context, Backend backend, Dictionary<(string Backend, string Phase), double> rates)
    {
        var o = context.Options;
        var quick = o.Quick;
        var only = o.Get("only", "all");
        bool Run(string phase) => only == "all" || only == phase;
        var azure = backend.Name == "azurestorage";
        int Count(string option, int full, int small) => int.Parse(o.Get(option, (quick ? small : full).ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        // Azure Storage costs several HTTP round trips per step (28-47 sequential activities/s): smaller counts.
        var seqN = Count("sequential-count", azure ? 200 : 2000, azure ? 50 : 300);
        var fanN = Count("fanout-count", azure ? 1000 : 10_000, azure ? 300 : 2000);
        var helloN = Count("hello-count", azure ? 200 : 1000, azure ? 50 : 200);
        var replayN = quick ? 1000 : 4995; // 4,995 activities: 2 x 4,995 task events plus the turn markers, about 10,000
        var warmup = o.Get("warmup", "steady");
        if (warmup is not ("steady" or "full" or "short")) throw new ArgumentException($"unknown --warmup '{warmup}' (steady, full, short)");
        var fullWarmup = warmup != "short";
        backend.Extra["warmup"] = warmup;
        // steady: the workload twice, each followed by a second without work, so that the runtime's tiered compilation
        // (which starts counting calls only 100 ms after the last first-time compilation) has optimized the hot code.
        async Task WarmUpAsync(Func<Task> once)
        {
            for (var round = 0; round < (warmup == "steady" ? 2 : 1); round++)
            {
                await once();
                if (warmup == "steady") await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }

        var folder = Directory.CreateTempSubdirectory("bench-durable-").FullName;
        Serverless.Testing.Azurite.AzuriteProcess? azurite = null;
        try
        {
            if (azure)
            {
                // --azurite memory: Azurite without its on-disk stores, to see how much of the figure is the emulator's persistence.
                var inMemory = o.Get("azurite", "disk") switch
                {
                    "disk" => false,
                    "memory" => true,
                    var other => throw new ArgumentException($"unknown --azurite '{other}' (disk, memory)"),
                };
                azurite = await Serverless.Testing.Azurite.AzuriteProcess.StartAsync(inMemory);
                backend.Extra["azurite"] = inMemory ? "in-memory" : "on-disk";
            }
            // SQLite: one database file per hub in the run's folder; Azure Storage: one hub per phase in the Azurite.
            string ConnectionFor(string hub) => azurite?.ConnectionString ?? Path.Combine(folder, hub + ".db");
            var profile = backend.Name == "sqlite" && o.Get("profile", "false") == "true";

            if (Run("sequential"))
            {
                var profiler = profile ? new ProfilingSqliteFactory() : null;
                using var h = await StartAsync(backend, "benchseq", ConnectionFor("benchseq"), folder, profiler);
                var client = h.Services.GetRequiredService<DurableTaskClient>();
                await WarmUpAsync(() => RunOneAsync(client, "Sequential", fullWarmup ? seqN : 20)); // JIT, pages, queues
                profiler?.Profiler?.Reset();
                var rate = await MeasureAsync(context, "sequential_activities_per_s", seqN, backend.Extra, () => RunOneAsync(client, "Sequential", seqN));
                rates[(backend.Name, "sequential")] = rate;
                if (profiler?.Profiler is { } p) ReportProfile(context, backend, "sequential", p, seqN / rate);
                await h.StopAsync();
            }
            string? replayInstance = null;
            if (Run("fanout") || Run("replay"))
            {
                var profiler = profile ? new ProfilingSqliteFactory() : null;
                using var h = await StartAsync(backend, "benchfan", ConnectionFor("benchfan"), folder, profiler);
                var client = h.Services.GetRequiredService<DurableTaskClient>();
                await WarmUpAsync(() => RunOneAsync(client, "FanOut", fullWarmup && Run("fanout") ? fanN : 50));
                profiler?.Profiler?.Reset();
                if (Run("fanout"))
                {
                    var rate = await MeasureAsync(context, "fanout_activities_per_s", fanN, backend.Extra, () => RunOneAsync(client, "FanOut", fanN));
                    rates[(backend.Name, "fanout")] = rate;
                    if (profiler?.Profiler is { } p) ReportProfile(context, backend, "fanout", p, fanN / rate);
                }
                if (Run("replay") && backend.Name != InMemoryFactory.Type) replayInstance = await RunOneAsync(client, "FanOut", replayN);
                await h.StopAsync();
            }
            if (Run("hello"))
            {
                using var h = await StartAsync(backend, "benchhello", ConnectionFor("benchhello"), folder);
                var client = h.Services.GetRequiredService<DurableTaskClient>();
                async Task HelloAsync(int count)
                {
                    var ids = new List<string>(count);
                    for (var i = 0; i < count; i++) ids.Add(await client.ScheduleNewOrchestrationInstanceAsync("HelloSequence5"));
                    foreach (var id in ids)
                    {
                        var m = await client.WaitForInstanceCompletionAsync(id);
                        if (m.RuntimeStatus != OrchestrationRuntimeStatus.Completed) throw new InvalidOperationException($"{id} ended {m.RuntimeStatus}");
                    }
                }
                await WarmUpAsync(() => fullWarmup ? HelloAsync(helloN) : RunOneAsync(client, "HelloSequence5", null) as Task);
                rates[(backend.Name, "hello")] = await MeasureAsync(context, "hello_sequence5_orchestrations_per_s", helloN, backend.Extra, () => HelloAsync(helloN));
                await h.StopAsync();
            }
            if (replayInstance is not null)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                await RunReplayChildAsync(context, backend, ConnectionFor("benchfan"), "benchfan", replayInstance);
            }
        }
        finally
        {
            if (azurite is not null) await azurite.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, true);
        }
    }

    /// <summary>
    /// The profiler's segments of one phase (<c>profile_{phase}_segment_us</c>: mean and count), and each segment's total
    /// as a share of the phase's wall time (<c>profile_{phase}_segment_share</c>). With one orchestration running, the
    /// DTFx-turn and provider-commit segments lie on its single critical path, so their shares say how busy that path
    /// was: near 1, the orchestration's own thread is the limit, whatever the other cores do.
    /// </summary>
    private static void ReportProfile(BenchmarkContext context, Backend backend, string phase, ProfilingOrchestrationService profiler, double wallSeconds)
    {
        foreach (var (segment, count, mean) in profiler.Report())
        {
            var extra = new Dictionary<string, object> { ["backend"] = backend.Name, ["segment"] = segment, ["count"] = count };
            context.Report($"profile_{phase}_segment_us", mean, "us", extra);
            context.Report($"profile_{phase}_segment_share", count * mean / 1e6 / wallSeconds, "of wall", extra);
        }
    }

    private static async Task<IHost> StartAsync(Backend backend, string hub, string connection, string home, ProfilingSqliteFactory? profiler = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var settings = HostJsonReader.Parse(backend.HostJson(hub), "bench-host.json");
        builder.Services.AddDurableTaskHosting(o =>
        {
            o.Settings = settings;
            o.ReadAppSetting = name => name == Connection ? connection : null;
            o.HomeDirectory = home;
        }).AddTasks(Register);
        // Registered last, so it serves storageProvider.type sqlite instead of the library's factory.
        if (profiler is not null) builder.Services.AddSingleton<IDurableProviderFactory>(profiler);
        if (backend.Name == InMemoryFactory.Type) builder.Services.AddSingleton<IDurableProviderFactory>(new InMemoryFactory());
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static async Task<string> RunOneAsync(DurableTaskClient client, string name, object? input)
    {
        var id = await client.ScheduleNewOrchestrationInstanceAsync(name, input);
        var m = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: false);
        if (m.RuntimeStatus != OrchestrationRuntimeStatus.Completed) throw new InvalidOperationException($"{name} ended {m.RuntimeStatus}: {m.FailureDetails?.ErrorMessage}");
        return id;
    }

    /// <summary>
    /// Measures a phase: wall time, and the process's CPU time per item (less sensitive than throughput to other work on
    /// a shared machine), reported with the 1-minute load average. Returns items per second.
    /// </summary>
    private static async Task<double> MeasureAsync(BenchmarkContext context, string metric, int items, Dictionary<string, object> extra, Func<Task> run)
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
        var perSecond = items / sw.Elapsed.TotalSeconds;
        context.Report(metric, perSecond, "1/s", fields);
        return perSecond;
    }

    internal static double LoadAverage() =>
        File.Exists("/proc/loadavg") ? double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture) : -1;

    /// <summary>Runs the replay in a fresh process, so that its peak working set is the replay's own.</summary>
    private static async Task RunReplayChildAsync(BenchmarkContext context, Backend backend, string connection, string hub, string instanceId)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(DurableSuite).Assembly.Location);
        psi.ArgumentList.Add("durable");
        // The child configures the backend the same way: pass the options that shape host.json on.
        foreach (var option in HostJsonOptions)
        {
            if (context.Options.Get(option, "") is not { Length: > 0 } value) continue;
            psi.ArgumentList.Add("--" + option);
            psi.ArgumentList.Add(value);
        }
        foreach (var a in new[] { "--backend", backend.Name, "--replay-child", connection, "--hub", hub, "--instance", instanceId }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Console.Write(output);
        if (p.ExitCode != 0) throw new InvalidOperationException($"replay child failed with exit code {p.ExitCode}");
    }

    /// <summary>
    /// In a fresh process: a client-only host on the backend loads the instance's history and replays it through DTFx's
    /// executor and the SDK's shim, as a worker does when the orchestration is not in memory (no extended session).
    /// Reports load + replay.
    /// </summary>
    private static async Task ReplayChildAsync(BenchmarkContext context, Backend backend, string connection, string hub, string instanceId)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var settings = HostJsonReader.Parse(backend.HostJson(hub), "bench-host.json");
        builder.Services.AddDurableTaskHostingClient(o =>
        {
            o.Settings = settings;
            o.ReadAppSetting = name => name == Connection ? connection : null;
            o.HomeDirectory = Path.GetTempPath();
        });
        using var host = builder.Build();
        await host.StartAsync();
        var provider = host.Services.GetRequiredService<DurableProvider>();
        // What DurableTaskClient.GetOrchestrationHistoryAsync does (DurableTaskFrameworkClient), in its two steps: the
        // provider reads the history as DTFx's JSON text, the client parses it into events.
        var total = Stopwatch.StartNew();
        var json = await provider.Client.GetOrchestrationHistoryAsync(instanceId, null!);
        var readMs = total.Elapsed.TotalMilliseconds;
        var history = Serverless.Hosting.Client.HistoryJson.Parse(json);
        var loadMs = total.Elapsed.TotalMilliseconds;
        var replay = Stopwatch.StartNew();
        var shims = new Microsoft.DurableTask.Worker.Shims.DurableTaskShimFactory(
            new DurableTaskWorkerOptions { DataConverter = DurableJson.Converter }, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var orchestration = shims.CreateOrchestration(new TaskName("FanOut"), new FanOutOrchestrator(), null);
        var events = history.Where(e => e is not global::DurableTask.Core.History.ExecutionCompletedEvent).ToList();
        var result = new global::DurableTask.Core.TaskOrchestrationExecutor(new global::DurableTask.Core.OrchestrationRuntimeState(events), orchestration,
            global::DurableTask.Core.BehaviorOnContinueAsNew.Carryover, global::DurableTask.Core.ErrorPropagationMode.UseFailureDetails).Execute();
        replay.Stop();
        total.Stop();
        if (!result.Actions.OfType<global::DurableTask.Core.Command.OrchestrationCompleteOrchestratorAction>().Any(a => a.OrchestrationStatus == global::DurableTask.Core.OrchestrationStatus.Completed))
            throw new InvalidOperationException("replayed orchestration did not reach its end");
        var extra = new Dictionary<string, object>(backend.Extra)
        {
            ["events"] = history.Count, ["load_ms"] = Math.Round(loadMs, 1), ["provider_read_ms"] = Math.Round(readMs, 1),
            ["json_chars"] = json.Length, ["replay_ms"] = Math.Round(replay.Elapsed.TotalMilliseconds, 1),
            ["loadavg_1min"] = LoadAverage(),
        };
        context.Report("replay_10k_events_ms", total.Elapsed.TotalMilliseconds, "ms", extra);
        context.Report("replay_10k_events_peak_mb", BenchmarkContext.PeakWorkingSetMb(), "MB", extra);
        await host.StopAsync();
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

    /// <summary>
    /// <c>storageProvider.type: inmemory</c>, the peer with storage that costs nothing: DTFx's dispatchers on the
    /// in-memory orchestration service that Microsoft ships in Microsoft.DurableTask.InProcessTestHost (no extended
    /// sessions: DTFx replays the history on every turn).
    /// </summary>
    private sealed class InMemoryFactory : IDurableProviderFactory
    {
        public const string Type = "inmemory";

        public string ProviderType => Type;

        public DurableProvider Create(DurableProviderContext context)
        {
            var service = new Microsoft.DurableTask.Testing.Sidecar.InMemoryOrchestrationService(context.LoggerFactory);
            return new DurableProvider(service, service, context.Settings.HubName);
        }
    }

    /// <summary>
    /// Serves <c>storageProvider.type: sqlite</c> with the library's factory and wraps the service in a
    /// <see cref="ProfilingOrchestrationService"/> (<c>--profile true</c>).
    /// </summary>
    private sealed class ProfilingSqliteFactory : IDurableProviderFactory
    {
        public ProfilingOrchestrationService? Profiler { get; private set; }

        public string ProviderType => SqliteProviderFactory.Type;

        public DurableProvider Create(DurableProviderContext context)
        {
            var inner = new SqliteProviderFactory().Create(context);
            Profiler = new ProfilingOrchestrationService(inner.Service);
            return new DurableProvider(Profiler, inner.Client, inner.TaskHubName, release: inner.DisposeAsync);
        }
    }
}

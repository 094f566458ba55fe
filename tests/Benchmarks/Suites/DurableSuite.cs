using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Serverless.Durable;
using Serverless.Durable.Backend;
using Serverless.Durable.Core;
using Serverless.Durable.Sqlite;

namespace Benchmarks.Suites;

/// <summary>
/// Engine throughput on a real backend (default SQLite in a temp folder, synchronous=NORMAL):
/// sequential activities, fan-out, many concurrent small orchestrations, and replay of a long history.
/// Options: <c>--backend sqlite|memory|azure|azurestorage</c> (azure: the old engine's Azure Storage backend against an
/// Azurite started for the run, with smaller counts because every step is several HTTP round trips; azurestorage: the
/// real runtime on DTFx's Azure Storage provider, <see cref="DurableHostingBench"/>), <c>--quick</c> (smaller counts).
/// </summary>
public sealed class DurableSuite : IBenchmarkSuite
{
    /// <inheritdoc/>
    public string Name => "durable";

    /// <inheritdoc/>
    public async Task RunAsync(BenchmarkContext context)
    {
        var backendKind = context.Options.Get("backend", "sqlite");
        if (backendKind == "azurestorage")
        {
            // The real runtime (Serverless.Hosting: Microsoft.DurableTask on DTFx) on DTFx's Azure Storage provider.
            await DurableHostingBench.RunAsync(context);
            return;
        }
        if (context.Options.Get("replay-child", "") is { Length: > 0 } child)
        {
            ReplayChild(context, child, context.Options.Get("instance", ""));
            return;
        }
        var quick = context.Options.Quick;
        var only = context.Options.Get("only", "all"); // all | sequential | fanout | hello | replay
        bool Run(string phase) => only == "all" || only == phase;
        var dir = Directory.CreateTempSubdirectory("bench-durable-").FullName;
        var azure = backendKind == "azure";
        Serverless.Testing.Azurite.AzuriteProcess? azurite = null;
        try
        {
            if (azure)
            {
                // --azurite-memory true: Azurite's in-memory persistence (no extent files), to separate its disk cost from ours.
                azurite = await Serverless.Testing.Azurite.AzuriteProcess.StartAsync(inMemory: context.Options.Get("azurite-memory", "false") == "true");
                s_azureConnection = azurite.ConnectionString;
            }
            var extra = new Dictionary<string, object> { ["backend"] = backendKind, ["maxConcurrentActivityFunctions"] = MaxActivities };
            if (azure) extra["azurite"] = context.Options.Get("azurite-memory", "false") == "true" ? "in-memory" : "on-disk";
            // 1. Sequential activities in one orchestration.
            var seqN = int.Parse(context.Options.Get("sequential-count", azure ? (quick ? "50" : "200") : quick ? "200" : "1000"), CultureInfo.InvariantCulture);
            if (Run("sequential"))
            await using (var h = await Host.StartAsync(backendKind, dir, "seq"))
            {
                await h.RunAsync("Sequential", 20); // warm-up (JIT, SQLite pages)
                var sw = Stopwatch.StartNew();
                await h.RunAsync("Sequential", seqN);
                context.Report("sequential_activities_per_s", seqN / sw.Elapsed.TotalSeconds, "1/s", extra);
            }
            // 2. Fan-out / fan-in.
            var fanN = azure ? (quick ? 300 : 1000) : quick ? 2000 : 10_000;
            string replayInstance = "";
            if (Run("fanout") || Run("replay"))
            await using (var h = await Host.StartAsync(backendKind, dir, "fan"))
            {
                await h.RunAsync("FanOut", 100);
                var sw = Stopwatch.StartNew();
                await h.RunAsync("FanOut", fanN);
                context.Report("fanout_activities_per_s", fanN / sw.Elapsed.TotalSeconds, "1/s", extra);
                // The history replayed below: 4,995 activities give 2 x 4,995 task events plus the turn markers, about 10,000.
                if (!azure) replayInstance = await h.RunAsync("FanOut", 4995);
            }
            // 3. Many concurrent HelloSequence5 orchestrations.
            var helloN = azure ? (quick ? 50 : 200) : quick ? 200 : 1000;
            if (Run("hello"))
            await using (var h = await Host.StartAsync(backendKind, dir, "hello"))
            {
                await h.RunAsync("HelloSequence5", null);
                var sw = Stopwatch.StartNew();
                var ids = new List<string>(helloN);
                for (var i = 0; i < helloN; i++) ids.Add(await h.Client.ScheduleNewOrchestrationInstanceAsync("HelloSequence5"));
                foreach (var id in ids)
                {
                    var m = await h.Client.WaitForInstanceCompletionAsync(id);
                    if (m.RuntimeStatus != OrchestrationRuntimeStatus.Completed) throw new InvalidOperationException($"{id} ended {m.RuntimeStatus}");
                }
                context.Report("hello_sequence5_orchestrations_per_s", helloN / sw.Elapsed.TotalSeconds, "1/s", extra);
            }
            // 4. Replay of a long history, in a fresh process so that its peak working set is its own.
            if (backendKind == "sqlite" && Run("replay"))
            {
                var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
                // Under "dotnet Benchmarks.dll" the process is dotnet itself: pass the assembly first.
                if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(DurableSuite).Assembly.Location);
                psi.ArgumentList.Add("durable");
                psi.ArgumentList.Add("--replay-child");
                psi.ArgumentList.Add(Path.Combine(dir, "fan.db"));
                psi.ArgumentList.Add("--instance");
                psi.ArgumentList.Add(replayInstance);
                using var p = Process.Start(psi)!;
                var output = await p.StandardOutput.ReadToEndAsync();
                await p.WaitForExitAsync();
                Console.Write(output);
                if (p.ExitCode != 0) throw new InvalidOperationException($"replay child failed with exit code {p.ExitCode}");
            }
        }
        finally
        {
            if (azurite != null) await azurite.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
        }
    }

    private static void ReplayChild(BenchmarkContext context, string dbPath, string instanceId)
    {
        var sw = Stopwatch.StartNew();
        var backend = new SqliteOrchestrationBackend(dbPath);
        backend.InitializeAsync().GetAwaiter().GetResult();
        var history = backend.GetHistoryAsync(instanceId).GetAwaiter().GetResult();
        var registry = new DurableTaskRegistry();
        Register(registry);
        var executor = new OrchestrationExecutor(instanceId, registry, JsonDataConverter.Default, _ => WorkerPools.Default, null);
        executor.Replay(history);
        sw.Stop();
        if (!executor.IsFinished) throw new InvalidOperationException("replayed orchestration did not reach its end");
        var extra = new Dictionary<string, object> { ["events"] = history.Count };
        context.Report("replay_10k_events_ms", sw.Elapsed.TotalMilliseconds, "ms", extra);
        context.Report("replay_10k_events_peak_mb", BenchmarkContext.PeakWorkingSetMb(), "MB", extra);
        backend.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private const int MaxActivities = 100;

    private static string? s_azureConnection;

    private static void Register(DurableTaskRegistry r) => r
        .AddActivityFunc<int, int>("Inc", (_, x) => x + 1)
        .AddActivityFunc<string?, string>("Hello", (_, s) => "Hello " + s)
        .AddOrchestratorFunc<int, int>("Sequential", async (ctx, n) =>
        {
            var x = 0;
            for (var i = 0; i < n; i++) x = await ctx.CallActivityAsync<int>("Inc", x);
            return x;
        })
        .AddOrchestratorFunc<int, int>("FanOut", async (ctx, n) =>
        {
            var tasks = new Task<int>[n];
            for (var i = 0; i < n; i++) tasks[i] = ctx.CallActivityAsync<int>("Inc", i);
            var results = await Task.WhenAll(tasks);
            return results.Length;
        })
        .AddOrchestratorFunc<string?, string>("HelloSequence5", async (ctx, _) =>
        {
            var s = "";
            for (var i = 0; i < 5; i++) s = await ctx.CallActivityAsync<string>("Hello", s.Length.ToString(CultureInfo.InvariantCulture));
            return s;
        });

    private sealed class Host : IAsyncDisposable
    {
        private readonly IOrchestrationBackend _backend;
        private readonly DurableTaskWorker _worker;

        private Host(IOrchestrationBackend backend, DurableTaskWorker worker)
        {
            _backend = backend;
            _worker = worker;
            Client = new DurableTaskClient(backend);
        }

        public DurableTaskClient Client { get; }

        public static async Task<Host> StartAsync(string kind, string dir, string name)
        {
            IOrchestrationBackend backend = kind switch
            {
                "sqlite" => new SqliteOrchestrationBackend(Path.Combine(dir, name + ".db")),
                "memory" => new Serverless.Durable.InMemory.InMemoryOrchestrationBackend(),
                "azure" => new Serverless.Durable.AzureStorage.AzureStorageOrchestrationBackend(new Serverless.Durable.AzureStorage.AzureStorageBackendOptions
                {
                    ConnectionString = s_azureConnection ?? throw new InvalidOperationException("Azurite is not started."),
                    TaskHubName = "bench" + name,
                }),
                _ => throw new ArgumentException($"unknown --backend '{kind}' (sqlite, memory, azure)"),
            };
            var registry = new DurableTaskRegistry();
            Register(registry);
            // Trivial activities: allow enough in flight for the backend to batch their leases and results
            // (host.json maxConcurrentActivityFunctions; Durable Functions' default of 10 x cores suits heavy activities).
            var options = new DurableTaskWorkerOptions { MaxConcurrentActivityFunctions = MaxActivities, MaxConcurrentOrchestratorFunctions = 100 };
            var worker = new DurableTaskWorker(backend, registry, options);
            await worker.StartAsync();
            return new Host(backend, worker);
        }

        public async Task<string> RunAsync(string name, object? input)
        {
            var id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input);
            var m = await Client.WaitForInstanceCompletionAsync(id);
            if (m.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
                throw new InvalidOperationException($"{name} ended {m.RuntimeStatus}: {m.FailureDetails}");
            return id;
        }

        public async ValueTask DisposeAsync()
        {
            await _worker.DisposeAsync();
            await _backend.DisposeAsync();
        }
    }
}

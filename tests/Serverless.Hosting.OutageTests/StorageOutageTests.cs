using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Hosting.Azurite;
using Serverless.Hosting.Configuration;

namespace Serverless.Hosting.OutageTests;

/// <summary>Azurite stopped for 10 s in the middle of a run and restarted on the same ports and data: the run completes.</summary>
public sealed class StorageOutageTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("hosting-outage-").FullName;
    private readonly int[] _ports = FreePorts();
    private AzuriteLauncher? _azurite;

    private static int[] FreePorts()
    {
        var listeners = Enumerable.Range(0, 3).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }

    private async Task StartAzuriteAsync()
    {
        _azurite = await AzuriteLauncher.EnsureRunningAsync(Path.Combine(_folder, "azurite"), _ports);
        Assert.True(_azurite.Started);
    }

    /// <remarks>
    /// DTFx cannot hand back (abandon) the messages it had dequeued when storage went away, so they come back only when
    /// their queue visibility expires: 5 minutes by default. The test sets 10 s (host.json
    /// <c>controlQueueVisibilityTimeout</c> / <c>workItemQueueVisibilityTimeout</c>); a live worker keeps renewing its
    /// messages' visibility, so short values cost a few more storage calls, not correctness.
    /// </remarks>
    [Fact]
    public async Task AzuriteStopped10sMidRun_Restarted_RunCompletesNothingRecordedRunsAgain()
    {
        await StartAzuriteAsync();
        var runs = new ConcurrentDictionary<string, int>();
        var warnings = new ConcurrentQueue<string>();
        var log = new ConcurrentQueue<string>();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddProvider(new WarningSink(warnings, log)).SetMinimumLevel(LogLevel.Information);
        var settings = HostJsonReader.Parse("""
            {"extensions":{"durableTask":{"hubName":"outage","storageProvider":{"connectionStringName":"Outage","partitionCount":2,"maxQueuePollingInterval":"00:00:00.100","controlQueueVisibilityTimeout":"00:00:10","workItemQueueVisibilityTimeout":"00:00:10"}}}}
            """, "outage-host.json");
        var connection = AzuriteLauncher.ConnectionString(_ports);
        builder.Services.AddDurableTaskHosting(o =>
        {
            o.Settings = settings;
            o.ReadAppSetting = name => name == "Outage" ? connection : null;
            o.HomeDirectory = _folder;
        }).AddTasks(r => r
            .AddActivityFunc<string, string>("Step", async (ctx, s) =>
            {
                runs.AddOrUpdate($"{ctx.InstanceId}/{s}", 1, (_, n) => n + 1);
                await Task.Delay(50);
                return s;
            })
            .AddOrchestratorFunc<int, string>("Steps", async (ctx, n) =>
            {
                var parts = new List<string>();
                for (var i = 0; i < n; i++) parts.Add(await ctx.CallActivityAsync<string>("Step", i.ToString(CultureInfo.InvariantCulture)));
                return string.Join(",", parts);
            }));
        using var host = builder.Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        const int instances = 10, steps = 8;
        for (var i = 0; i < instances; i++)
            await client.ScheduleNewOrchestrationInstanceAsync("Steps", steps, new StartOrchestrationOptions($"o-{i}"));

        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (runs.Count < instances * steps / 4)
        {
            Assert.True(DateTime.UtcNow < deadline, "the run did not start");
            await Task.Delay(20);
        }
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await _azurite!.DisposeAsync(); // SIGTERM: Azurite saves its stores and exits, as a service stop does
        var stopSeconds = stopping.Elapsed.TotalSeconds;
        log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} test: Azurite stopped after {runs.Count} steps");
        var atStop = runs.Count;
        await Task.Delay(TimeSpan.FromSeconds(10));
        Assert.True(runs.Count < instances * steps, "the run finished during the outage");
        await StartAzuriteAsync();
        log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} test: Azurite restarted");

        var expected = string.Join(",", Enumerable.Range(0, steps));
        for (var i = 0; i < instances; i++)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            OrchestrationMetadata m;
            try
            {
                m = await client.WaitForInstanceCompletionAsync($"o-{i}", true, cts.Token);
            }
            catch (OperationCanceledException)
            {
                var states = new List<string>();
                for (var j = 0; j < instances; j++) states.Add($"o-{j}: {(await client.GetInstanceAsync($"o-{j}"))?.RuntimeStatus}");
                // The whole runtime log (information and up) goes to a file that outlives the test folder.
                var logFile = Path.Combine(Path.GetTempPath(), $"hosting-outage-{DateTime.UtcNow:yyyyMMddHHmmss}.log");
                await File.WriteAllLinesAsync(logFile, log);
                var kinds = warnings.Select(w => w.Length > 120 ? w[..120] : w).Where(w => !w.Contains("duplicate message", StringComparison.Ordinal)).Distinct().Take(20);
                throw new TimeoutException($"o-{i} did not complete (Azurite took {stopSeconds:F1} s to stop); {runs.Count} of {instances * steps} steps ran; {string.Join(", ", states)}. Full log: {logFile}. " +
                    $"Warnings other than duplicate messages:\n{string.Join("\n", kinds)}\nLast warnings:\n" + string.Join("\n", warnings.TakeLast(15)));
            }
            Assert.Equal(OrchestrationRuntimeStatus.Completed, m.RuntimeStatus);
            Assert.Equal(expected, m.ReadOutputAs<string>());
        }
        Assert.Equal(instances * steps, runs.Count);
        Assert.True(atStop < instances * steps);
        // Activities whose results were stored before the outage did not run again; only ones in flight may repeat.
        Assert.True(runs.Values.Count(n => n > 1) <= 2 * instances, "too many activities ran twice: " + runs.Values.Count(n => n > 1));
        // The outage was noticed and reported by the runtime, not silently absorbed.
        Assert.NotEmpty(warnings);
        await host.StopAsync();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // IAsyncLifetime, not IAsyncDisposable: xUnit 2.9 never calls a test class's DisposeAsync of the latter, and the
    // restarted Azurite outlived every run.
    public async Task DisposeAsync()
    {
        if (_azurite != null) await _azurite.DisposeAsync();
        try { Directory.Delete(_folder, true); } catch (IOException) { }
    }

    private sealed class WarningSink(ConcurrentQueue<string> sink, ConcurrentQueue<string> all) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(sink, all, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> sink, ConcurrentQueue<string> all, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var line = $"{category}: {formatter(state, exception)}";
                all.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {line}");
                if (logLevel >= LogLevel.Warning) sink.Enqueue(line);
            }
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Serverless.Testing.Azurite;

namespace Serverless.Durable.AzureStorage.Tests;

/// <summary>Azurite stopped for 10 s in the middle of a run and restarted on the same ports and data folder.</summary>
public sealed class OutageTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("azurite-outage-").FullName;
    private readonly int[] _ports = FreePorts();
    private Process? _azurite;

    private string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AzuriteProcess.AccountName};AccountKey={AzuriteProcess.AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{_ports[0]}/{AzuriteProcess.AccountName};QueueEndpoint=http://127.0.0.1:{_ports[1]}/{AzuriteProcess.AccountName};";

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
        var root = AzuriteProcess.FindRepositoryRoot();
        var psi = new ProcessStartInfo(Path.Combine(root, "node_modules", ".bin", "azurite")) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        foreach (var a in new[]
                 {
                     "--blobHost", "127.0.0.1", "--blobPort", _ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--queueHost", "127.0.0.1", "--queuePort", _ports[1].ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--tableHost", "127.0.0.1", "--tablePort", _ports[2].ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--location", _folder, "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry",
                 })
            psi.ArgumentList.Add(a);
        _azurite = Process.Start(psi)!;
        _azurite.OutputDataReceived += (_, _) => { };
        _azurite.ErrorDataReceived += (_, _) => { };
        _azurite.BeginOutputReadLine();
        _azurite.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        foreach (var port in _ports.Take(2))
        {
            while (true)
            {
                try
                {
                    using var c = new TcpClient();
                    await c.ConnectAsync(IPAddress.Loopback, port);
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline && !_azurite.HasExited)
                {
                    await Task.Delay(100);
                }
            }
        }
    }

    /// <summary>Stops Azurite the way a service stop does (SIGTERM: it closes its stores), then waits for the exit.</summary>
    private void StopAzurite()
    {
        using (var kill = Process.Start("kill", ["-TERM", _azurite!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        if (!_azurite.WaitForExit(15_000)) _azurite.Kill(true);
        _azurite.Dispose();
        _azurite = null;
    }

    [Fact]
    public async Task AzuriteStopped10sMidRun_Restarted_RunCompletesNothingLostErrorsLoggedWithAttempt()
    {
        await StartAzuriteAsync();
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        var runs = new ConcurrentDictionary<string, int>();
        var registry = new DurableTaskRegistry()
            .AddActivityFunc<string, string>("Step", async (ctx, s) =>
            {
                runs.AddOrUpdate($"{ctx.InstanceId}/{s}", 1, (_, n) => n + 1);
                await Task.Delay(50);
                return s;
            })
            .AddOrchestratorFunc<int, string>("Steps", async (ctx, n) =>
            {
                var parts = new List<string>();
                for (var i = 0; i < n; i++) parts.Add(await ctx.CallActivityAsync<string>("Step", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                return string.Join(",", parts);
            });
        var options = new AzureStorageBackendOptions
        {
            ConnectionString = ConnectionString, TaskHubName = "outage", LeaseTimeout = TimeSpan.FromSeconds(4), LeaseRenewInterval = TimeSpan.FromSeconds(1),
        };
        await using var backend = new AzureStorageOrchestrationBackend(options, logger: loggerFactory.CreateLogger("backend"));
        await using var worker = new DurableTaskWorker(backend, registry, new DurableTaskWorkerOptions
        {
            MaxPollingInterval = TimeSpan.FromMilliseconds(100), LockTimeout = TimeSpan.FromSeconds(5),
        }, loggerFactory);
        await worker.StartAsync();
        var client = new DurableTaskClient(backend);
        const int instances = 10, steps = 8;
        for (var i = 0; i < instances; i++)
            await client.ScheduleNewOrchestrationInstanceAsync("Steps", steps, new StartOrchestrationOptions($"o-{i}"));

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (runs.Count < instances * steps / 4)
        {
            Assert.True(DateTime.UtcNow < deadline, "the run did not start");
            await Task.Delay(20);
        }
        StopAzurite();
        var atStop = runs.Count;
        await Task.Delay(TimeSpan.FromSeconds(10));
        Assert.True(runs.Count < instances * steps, "the run finished during the outage");
        await StartAzuriteAsync();

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var expected = string.Join(",", Enumerable.Range(0, steps));
        for (var i = 0; i < instances; i++)
        {
            OrchestrationMetadata m;
            try
            {
                m = await client.WaitForInstanceCompletionAsync($"o-{i}", true, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"o-{i} did not complete; {runs.Count} of {instances * steps} steps ran. Last log lines:\n" +
                    string.Join("\n", logs.Lines.TakeLast(25)));
            }
            Assert.Equal(OrchestrationRuntimeStatus.Completed, m.RuntimeStatus);
            Assert.Equal(expected, m.ReadOutputAs<string>());
        }
        Assert.Equal(instances * steps, runs.Count);
        Assert.True(atStop < instances * steps);
        // Activities whose results were stored before the outage were not run again; only ones in flight may repeat.
        Assert.True(runs.Values.Count(n => n > 1) <= 2 * instances, "too many activities ran twice: " + runs.Values.Count(n => n > 1));
        var errors = logs.Lines.Where(l => l.Contains("dispatch failed (attempt", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(errors);
        Assert.Contains(errors, l => l.Contains("(attempt 2)", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        if (_azurite != null)
        {
            try { _azurite.Kill(true); _azurite.WaitForExit(); } catch (InvalidOperationException) { }
            _azurite.Dispose();
        }
        try { Directory.Delete(_folder, true); } catch (IOException) { }
    }
}

/// <summary>Keeps formatted log lines so tests can check what was logged.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    public IReadOnlyList<string> Lines => _lines.ToArray();
    public ILogger CreateLogger(string categoryName) => new Logger(this);
    public void Dispose() { }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
    }
}

using Serverless.Durable.Backend;

namespace Serverless.Durable.Tests;

/// <summary>A backend + worker + client started together for a test, stopped on dispose.</summary>
public sealed class TestHost : IAsyncDisposable
{
    private readonly List<DurableTaskWorker> _workers = [];

    private TestHost(IOrchestrationBackend backend, DurableTaskClient client)
    {
        Backend = backend;
        Client = client;
    }

    public IOrchestrationBackend Backend { get; }
    public DurableTaskClient Client { get; }

    public static async Task<TestHost> StartAsync(IOrchestrationBackend backend, Action<DurableTaskRegistry> register,
        Action<DurableTaskWorkerOptions>? configure = null, TimeProvider? time = null, bool startWorker = true,
        Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory = null)
    {
        var host = new TestHost(backend, new DurableTaskClient(backend, timeProvider: time));
        await backend.InitializeAsync();
        if (startWorker) await host.AddWorkerAsync(register, configure, time, loggerFactory);
        return host;
    }

    public async Task<DurableTaskWorker> AddWorkerAsync(Action<DurableTaskRegistry> register, Action<DurableTaskWorkerOptions>? configure = null, TimeProvider? time = null,
        Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory = null)
    {
        var registry = new DurableTaskRegistry();
        register(registry);
        var options = new DurableTaskWorkerOptions { MaxPollingInterval = TimeSpan.FromMilliseconds(50) };
        configure?.Invoke(options);
        var worker = new DurableTaskWorker(Backend, registry, options, loggerFactory, time);
        await worker.StartAsync();
        _workers.Add(worker);
        return worker;
    }

    public async Task<OrchestrationMetadata> RunAsync(string orchestrator, object? input = null, string? instanceId = null, int timeoutSeconds = 30)
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync(orchestrator, input, new StartOrchestrationOptions(instanceId));
        return await WaitAsync(id, timeoutSeconds);
    }

    public async Task<OrchestrationMetadata> WaitAsync(string id, int timeoutSeconds = 30)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        return await Client.WaitForInstanceCompletionAsync(id, true, cts.Token);
    }

    public async Task<OrchestrationMetadata> WaitForStatusAsync(string id, Func<OrchestrationMetadata, bool> condition, int timeoutSeconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            var m = await Client.GetInstanceAsync(id, true);
            if (m != null && condition(m)) return m;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Instance {id} did not reach the expected state; last: {m?.RuntimeStatus} {m?.SerializedCustomStatus}");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var w in _workers) await w.DisposeAsync();
        await Backend.DisposeAsync();
    }
}

/// <summary>A controllable clock for tests of timers and retry backoff.</summary>
public sealed class FakeTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;
    private readonly Lock _lock = new();

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock) return _now;
    }

    public void Advance(TimeSpan by)
    {
        lock (_lock) _now += by;
    }
}

/// <summary>Collects formatted messages of the "test" category, for logger tests.</summary>
public sealed class ListLoggerFactory(System.Collections.Concurrent.ConcurrentQueue<string> sink) : Microsoft.Extensions.Logging.ILoggerFactory
{
    public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider) { }

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) =>
        categoryName == "test" ? new ListLogger(sink) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public void Dispose() { }

    private sealed class ListLogger(System.Collections.Concurrent.ConcurrentQueue<string> sink) : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Enqueue(formatter(state, exception));
    }
}

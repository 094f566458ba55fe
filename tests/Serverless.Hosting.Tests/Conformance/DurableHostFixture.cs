using System.Collections.Concurrent;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Hosting.Providers;

namespace Serverless.Hosting.Tests.Conformance;

/// <summary>
/// One provider, one task hub and one worker shared by every test of a conformance class: the provider's storage is
/// started once, every orchestration of the suite is registered once (<see cref="ConformanceTasks"/>), and each test
/// uses its own instance ids. A provider joins the suite with a subclass that prepares its storage and names its
/// host.json settings (<see cref="AzureStorageFixture"/>, <see cref="SqliteFixture"/>).
/// </summary>
public abstract class DurableHostFixture : IAsyncLifetime
{
    private IHost? _host;

    /// <summary>Log lines of the worker, for the replay-safe logger test.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    /// <summary>The client of the shared task hub.</summary>
    public DurableTaskClient Client => Services.GetRequiredService<DurableTaskClient>();

    /// <summary>The provider under test (for provider-level checks such as raw messages).</summary>
    public DurableProvider Provider => Services.GetRequiredService<DurableProvider>();

    /// <summary>The host's services.</summary>
    public IServiceProvider Services => _host?.Services ?? throw new InvalidOperationException("The fixture is not started.");

    /// <summary>How early a provider may deliver a durable timer or a scheduled start (0: never early).</summary>
    public virtual TimeSpan TimerGranularity => TimeSpan.Zero;

    /// <summary>
    /// Whether every orchestration turn rebuilds the orchestrator from the stored history (extended sessions off). With
    /// sessions on, a live orchestrator is resumed, so code that is non-deterministic on replay goes unnoticed.
    /// </summary>
    public virtual bool ReplaysEveryTurn => true;

    /// <summary>Starts the provider's storage and returns how the runtime reaches it.</summary>
    protected abstract Task<Action<DurableHostingOptions>> StartStorageAsync();

    /// <summary>Adds provider-specific services (its factory, code-level options).</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    /// <summary>Stops the provider's storage.</summary>
    protected abstract Task StopStorageAsync();

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        var configure = await StartStorageAsync();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddProvider(new QueueLoggerProvider(Log)).SetMinimumLevel(LogLevel.Warning).AddFilter(ConformanceTasks.LogCategory, LogLevel.Information);
        builder.Services.AddDurableTaskHosting(configure).AddTasks(ConformanceTasks.Register);
        ConfigureServices(builder.Services);
        _host = builder.Build();
        await _host.StartAsync();
    }

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }
        await StopStorageAsync();
    }

    private sealed class QueueLoggerProvider(ConcurrentQueue<string> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new QueueLogger(sink, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class QueueLogger(ConcurrentQueue<string> sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Enqueue($"{category}|{formatter(state, exception)}");
    }
}

using DurableTask.Core;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Hosting.Providers;

namespace Serverless.Hosting.Runtime;

/// <summary>
/// The SDK's worker (<see cref="Microsoft.DurableTask.Worker.Hosting.DurableTaskWorker"/>, a hosted service) backed by
/// DTFx's <see cref="TaskHubWorker"/>: the SDK builds it from its registry (<c>UseBuildTarget</c>, as its gRPC worker
/// does) and hands over the task factory; DTFx's dispatchers run the registered classes through the SDK's shims.
/// Starting it starts the dispatchers before the host reports started, so start-up errors surface from the host's
/// start; stopping waits for in-flight work to finish.
/// </summary>
internal sealed class DurableTaskFrameworkWorker : Microsoft.DurableTask.Worker.Hosting.DurableTaskWorker
{
    private readonly DurableProvider _provider;
    private readonly TaskHubWorker _worker;
    private readonly ILogger _logger;

    /// <summary>Called by the SDK's worker builder (ActivatorUtilities) with the worker name and the registry's factory.</summary>
    public DurableTaskFrameworkWorker(string name, IDurableTaskFactory factory, DurableProvider provider,
        IOptionsMonitor<DurableTaskWorkerOptions> workerOptions, IServiceProvider services, ILoggerFactory loggerFactory)
        : base(name, factory)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(workerOptions);
        _provider = provider;
        _logger = loggerFactory.CreateLogger<DurableTaskFrameworkWorker>();
        var shims = new DurableTaskShimFactory(workerOptions.Get(name), loggerFactory);
        _worker = new TaskHubWorker(provider.Service,
            new ShimOrchestrationManager(factory, shims, services),
            new ShimActivityManager(factory, shims, services),
            loggerFactory)
        {
            // The SDK's shims report failures as FailureDetails (type, message, stack, inner failure), which is what
            // TaskFailedException.FailureDetails and OrchestrationMetadata.FailureDetails show.
            ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails,
        };
    }

    /// <summary>Prepares the provider (e.g. Azurite, the task hub's queues and tables) and starts DTFx's dispatchers.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await _provider.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await _worker.StartAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Durable Task worker '{Name}' started on task hub '{Hub}' ({Provider})", Name, _provider.TaskHubName, _provider.Service.GetType().Name);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Delay(Timeout.Infinite, stoppingToken)
        .ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>Stops the dispatchers, letting in-flight work items finish.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await _worker.StopAsync(isForced: false).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        _worker.Dispose();
        base.Dispose();
    }
}

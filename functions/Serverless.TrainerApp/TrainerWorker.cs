using Microsoft.Extensions.Logging;
using Serverless.Durable;
using Serverless.Durable.Backend;
using Serverless.Durable.Http.Configuration;
using Serverless.FunctionApp;
using Serverless.FunctionApp.Pipelines;
using Serverless.Ml.Components;
using Serverless.Ml.Components.Tuner;
using Serverless.Pipelines.Orchestration;

namespace Serverless.TrainerApp;

/// <summary>
/// The trainer worker: a <see cref="DurableTaskWorker"/> that serves only its pools (<c>gpu</c>) and no
/// orchestrations, on the function app's task hub and stores (same host.json). It registers the pipeline node
/// activity for its pools (so Trainer nodes run here) and the Tuner's trial activity. Every other activity of the
/// function app stays in the function app: this worker never leases an activity of a pool it does not serve.
/// </summary>
public sealed class TrainerWorker : IAsyncDisposable
{
    private readonly IOrchestrationBackend backend;
    private readonly PipelineRuntime runtime;
    private readonly DurableTaskWorker worker;

    /// <summary>Opens the backend and stores named by <paramref name="options"/>; call <see cref="StartAsync"/> to serve.</summary>
    public TrainerWorker(TrainerWorkerOptions options, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var appOptions = new FunctionAppOptions { HostJsonPath = options.HostJsonPath, HomeDirectory = options.HomeDirectory };
        var settings = FunctionAppHost.LoadSettings(appOptions);
        var workerOptions = new DurableTaskWorkerOptions();
        settings.ApplyTo(workerOptions);
        workerOptions.Pools = options.Pools.ToArray();
        workerOptions.ServeOrchestrations = false;
        workerOptions.LockTimeout = options.LockTimeout;
        if (options.MaxConcurrentActivities is { } max)
        {
            workerOptions.MaxConcurrentActivityFunctions = max;
        }

        backend = DurableBackendFactory.CreateBackend(settings, Environment.GetEnvironmentVariable);
        var client = new DurableTaskClient(backend, workerOptions.DataConverter, name: settings.HubName);
        runtime = new PipelineRuntime(PipelineHostOptions.Load(options.HostJsonPath, options.HomeDirectory), client);
        if (!runtime.Components.TryGet(Ml.Components.Trainer.TrainerComponent.TypeName, out _))
        {
            // The runtime may already carry them (the function app's PipelineRuntime can register them itself).
            MlComponents.Register(runtime.Components, runtime.Metadata);
        }

        var registry = new DurableTaskRegistry().AddNodeActivities(runtime.Runner, options.Pools);
        foreach (var pool in options.Pools)
        {
            if (pool == WorkerPools.Gpu)
            {
                registry.AddTunerTrialActivity(runtime.Blobs, pool);
            }
        }

        Pools = options.Pools;
        worker = new DurableTaskWorker(backend, registry, workerOptions, loggers);
    }

    /// <summary>The pools served.</summary>
    public IReadOnlyList<string> Pools { get; }

    /// <summary>Starts leasing activities (and writing heartbeats with the pools).</summary>
    public Task StartAsync(CancellationToken cancellation = default) => worker.StartAsync(cancellation);

    /// <summary>Stops leasing; running activities are cancelled and redelivered after their lease.</summary>
    public Task StopAsync(CancellationToken cancellation = default) => worker.StopAsync(cancellation);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await worker.DisposeAsync().ConfigureAwait(false);
        runtime.Dispose();
        if (backend is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync().ConfigureAwait(false);
        }
    }
}

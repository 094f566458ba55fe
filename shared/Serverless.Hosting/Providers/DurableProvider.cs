using DurableTask.Core;

namespace Serverless.Hosting.Providers;

/// <summary>
/// One task hub on one storage provider, as DTFx sees it: the <see cref="IOrchestrationService"/> the worker
/// dispatches from and the <see cref="IOrchestrationServiceClient"/> the <c>DurableTaskClient</c> speaks to (which
/// should also implement DTFx's <c>IOrchestrationServiceQueryClient</c> and <c>IOrchestrationServicePurgeClient</c>
/// for queries and purges). Created by an <see cref="IDurableProviderFactory"/>; owns whatever the factory started
/// for it (an Azurite process, a file handle) and releases it on dispose.
/// </summary>
public sealed class DurableProvider : IAsyncDisposable, IDisposable
{
    private readonly Func<CancellationToken, Task>? _prepare;
    private readonly Func<ValueTask>? _release;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _initialized;
    private bool _disposed;

    /// <summary>Wraps a provider's service and client.</summary>
    /// <param name="service">The worker side.</param>
    /// <param name="client">The client side (often the same object as <paramref name="service"/>).</param>
    /// <param name="taskHubName">The task hub, for the client's name and generated URIs.</param>
    /// <param name="prepare">Runs once before the hub is created (e.g. starts Azurite); null for nothing.</param>
    /// <param name="release">Runs on dispose after the service (e.g. stops what <paramref name="prepare"/> started).</param>
    public DurableProvider(IOrchestrationService service, IOrchestrationServiceClient client, string taskHubName,
        Func<CancellationToken, Task>? prepare = null, Func<ValueTask>? release = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrWhiteSpace(taskHubName);
        Service = service;
        Client = client;
        TaskHubName = taskHubName;
        _prepare = prepare;
        _release = release;
    }

    /// <summary>The worker side of the provider.</summary>
    public IOrchestrationService Service { get; }

    /// <summary>The client side of the provider.</summary>
    public IOrchestrationServiceClient Client { get; }

    /// <summary>The task hub name.</summary>
    public string TaskHubName { get; }

    /// <summary>
    /// Prepares the provider once (its own start-up step, then <see cref="IOrchestrationService.CreateIfNotExistsAsync()"/>),
    /// so the client works before any worker starts. Safe to call from several places; only the first call does work.
    /// </summary>
    public async Task InitializeAsync(CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            if (_initialized) return;
            if (_prepare is not null) await _prepare(cancellation).ConfigureAwait(false);
            await Service.CreateIfNotExistsAsync().WaitAsync(cancellation).ConfigureAwait(false);
            _initialized = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Synchronous dispose for containers disposed synchronously; blocks on <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Disposes the service (when disposable) and then releases what the factory started.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        switch (Service)
        {
            case IAsyncDisposable a:
                await a.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable d:
                d.Dispose();
                break;
        }
        if (!ReferenceEquals(Client, Service) && Client is IDisposable c) c.Dispose();
        if (_release is not null) await _release().ConfigureAwait(false);
        _gate.Dispose();
    }
}

using Microsoft.Extensions.Hosting;

namespace Serverless.Hosting.Providers;

/// <summary>Prepares the provider when the host starts (before the worker), so a host with only a client works too.</summary>
internal sealed class DurableProviderStartup(DurableProvider provider) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => provider.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

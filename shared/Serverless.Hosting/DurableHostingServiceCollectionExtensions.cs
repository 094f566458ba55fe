using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Hosting.Client;
using Serverless.Hosting.Configuration;
using Serverless.Hosting.Providers;
using Serverless.Hosting.Runtime;

namespace Serverless.Hosting;

/// <summary>
/// Registers the Durable Task runtime: the SDK's worker on DTFx (a hosted service), the provider host.json names, and a
/// <see cref="DurableTaskClient"/> over it. User code registers its orchestrators and activities with the SDK's own
/// builder, exactly as with the SDK's gRPC worker:
/// <code>
/// services.AddDurableTaskHosting(o => o.HostJsonPath = "host.json")
///         .AddTasks(r => r.AddOrchestrator&lt;MyOrchestrator&gt;().AddActivity&lt;MyActivity&gt;());
/// </code>
/// </summary>
public static class DurableHostingServiceCollectionExtensions
{
    /// <summary>Adds the runtime; returns the SDK's worker builder for <c>AddTasks</c> and <c>Configure</c>.</summary>
    /// <param name="services">The app's services.</param>
    /// <param name="configure">Sets host.json, app settings and the home folder; default: every default.</param>
    public static IDurableTaskWorkerBuilder AddDurableTaskHosting(this IServiceCollection services, Action<DurableHostingOptions>? configure = null)
    {
        services.AddDurableTaskHostingClient(configure);
        var builder = services.AddDurableTaskWorker();
        builder.UseBuildTarget<DurableTaskFrameworkWorker>();
        // The same JSON as the client (and as an isolated Functions app); an app may Configure another on both.
        builder.Configure(o => o.DataConverter = DurableJson.Converter);
        // DTFx dispatches by name and ignores work-item filters; they are turned on because they are the SDK's only
        // public list of the registered names (the HTTP API answers 400 for starting an unregistered orchestrator).
        builder.UseWorkItemFilters();
        return builder;
    }

    /// <summary>
    /// Adds the provider and the <see cref="DurableTaskClient"/> without a worker: for processes that start, query and
    /// manage instances but run none (a CLI, a test driving worker processes). Called by
    /// <see cref="AddDurableTaskHosting"/>; calling both is harmless.
    /// </summary>
    /// <param name="services">The app's services.</param>
    /// <param name="configure">Sets host.json, app settings and the home folder; default: every default.</param>
    public static IServiceCollection AddDurableTaskHostingClient(this IServiceCollection services, Action<DurableHostingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<DurableHostingOptions>();
        if (configure is not null) options.Configure(configure);
        services.AddDurableProviderFactory<AzureStorageProviderFactory>();
        services.AddDurableProviderFactory<SqliteProviderFactory>();
        services.TryAddSingleton(CreateProvider);
        services.TryAddSingleton<DurableTaskClient>(sp =>
        {
            var provider = sp.GetRequiredService<DurableProvider>();
            return new DurableTaskFrameworkClient(provider.TaskHubName, provider.Client, sp.GetRequiredService<IOptions<DurableHostingOptions>>().Value.Client);
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, DurableProviderStartup>());
        return services;
    }

    /// <summary>
    /// Adds a storage provider for the <c>storageProvider.type</c> it names (the provider seam: one registration per
    /// provider). A later registration for the same type wins.
    /// </summary>
    public static IServiceCollection AddDurableProviderFactory<TFactory>(this IServiceCollection services)
        where TFactory : class, IDurableProviderFactory
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IDurableProviderFactory, TFactory>());
        return services;
    }

    /// <summary>Creates the provider host.json selects from the registered factories.</summary>
    internal static DurableProvider CreateProvider(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<DurableHostingOptions>>().Value;
        var settings = options.ResolveSettings();
        var factories = services.GetServices<IDurableProviderFactory>().ToList();
        var type = settings.StorageProvider.Type;
        var factory = factories.LastOrDefault(f => string.Equals(f.ProviderType, type, StringComparison.OrdinalIgnoreCase))
            ?? throw new HostJsonException("extensions.durableTask.storageProvider.type", settings.SourcePath,
                $"names provider '{type}', which this host does not have; registered providers: {string.Join(", ", factories.Select(f => f.ProviderType).Distinct())}.");
        var loggerFactory = services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
        return factory.Create(new DurableProviderContext(settings, options.ReadAppSetting, options.HomeDirectory, loggerFactory, services));
    }
}

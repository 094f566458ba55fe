using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Serverless.Hosting.Http;

/// <summary>
/// Maps Durable Functions' HTTP management API (<c>/runtime/webhooks/durabletask/...</c>) onto an ASP.NET Core app,
/// so the same clients, scripts and Logic Apps polling work against this host as against Durable Functions. It speaks only
/// <see cref="DurableTaskClient"/>: it never constructs or knows a storage provider.
/// </summary>
public static class DurableHttpEndpointRouteBuilderExtensions
{
    /// <summary>Maps the management API over <paramref name="client"/>.</summary>
    /// <param name="endpoints">The app or route group.</param>
    /// <param name="client">The client of the task hub to manage.</param>
    /// <param name="options">API settings; default <see cref="DurableHttpOptions"/> with no access key.</param>
    /// <returns>A builder for the mapped endpoints (to add conventions such as authorization or CORS).</returns>
    public static IEndpointConventionBuilder MapDurableTaskManagementApi(this IEndpointRouteBuilder endpoints,
        DurableTaskClient client, DurableHttpOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(client);
        options ??= new DurableHttpOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.DefaultPageSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRequestBodyBytes, 1, nameof(options));

        var api = new DurableHttpApi(client, options);
        var group = endpoints.MapGroup(DurableHttpOptions.RoutePrefix);
        Map(group, "/orchestrators/{functionName}/{instanceId?}", HttpMethods.Post, api, api.StartAsync);
        Map(group, "/instances", HttpMethods.Get, api, api.QueryAsync);
        Map(group, "/instances", HttpMethods.Delete, api, api.PurgeByFilterAsync);
        Map(group, "/instances/{instanceId}", HttpMethods.Get, api, api.GetStatusAsync);
        Map(group, "/instances/{instanceId}", HttpMethods.Delete, api, api.PurgeAsync);
        Map(group, "/instances/{instanceId}/raiseEvent/{eventName}", HttpMethods.Post, api, api.RaiseEventAsync);
        Map(group, "/instances/{instanceId}/terminate", HttpMethods.Post, api, api.TerminateAsync);
        Map(group, "/instances/{instanceId}/suspend", HttpMethods.Post, api, api.SuspendAsync);
        Map(group, "/instances/{instanceId}/resume", HttpMethods.Post, api, api.ResumeAsync);
        Map(group, "/instances/{instanceId}/restart", HttpMethods.Post, api, api.RestartAsync);
        // Lowest precedence: everything else under the prefix answers 404 with a JSON body.
        group.Map("/{**rest}", context => api.HandleAsync(context, api.NotFoundAsync)).WithOrder(int.MaxValue);
        return group;
    }

    /// <summary>Maps the management API over the <see cref="DurableTaskClient"/> registered in the app's services.</summary>
    /// <param name="endpoints">The app or route group.</param>
    /// <param name="options">API settings; default <see cref="DurableHttpOptions"/> with no access key.</param>
    /// <returns>A builder for the mapped endpoints.</returns>
    /// <remarks>Unless set, <see cref="DurableHttpOptions.ConnectionName"/> comes from host.json's <c>connectionStringName</c>
    /// (else <c>Storage</c>) and <see cref="DurableHttpOptions.IsOrchestratorRegistered"/> from the SDK registry of the
    /// worker added by <see cref="DurableHostingServiceCollectionExtensions.AddDurableTaskHosting"/>.</remarks>
    public static IEndpointConventionBuilder MapDurableTaskManagementApi(this IEndpointRouteBuilder endpoints, DurableHttpOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        options ??= new DurableHttpOptions();
        var hosting = services.GetService<IOptions<DurableHostingOptions>>()?.Value;
        if (options.ConnectionName is null && hosting is not null)
            options.ConnectionName = hosting.ResolveSettings().StorageProvider.ConnectionStringName ?? "Storage";
        if (options.IsOrchestratorRegistered is null && services.GetService<IOptionsMonitor<DurableTaskWorkerWorkItemFilters>>() is { } filters)
        {
            // The SDK lists a registry's names only through its work-item filters (AddDurableTaskHosting turns them on).
            var names = filters.Get(Options.DefaultName).Orchestrations.Select(o => o.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
            options.IsOrchestratorRegistered = names.Contains;
        }
        return endpoints.MapDurableTaskManagementApi(services.GetRequiredService<DurableTaskClient>(), options);
    }

    private static void Map(RouteGroupBuilder group, string pattern, string method, DurableHttpApi api, Func<HttpContext, Task> handler) =>
        group.MapMethods(pattern, [method], (RequestDelegate)(context => api.HandleAsync(context, handler)));
}

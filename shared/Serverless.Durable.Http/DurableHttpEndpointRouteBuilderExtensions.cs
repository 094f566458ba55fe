using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Serverless.Durable.Http;

/// <summary>
/// Maps Durable Functions' HTTP management API (<c>/runtime/webhooks/durabletask/...</c>) onto an ASP.NET Core app,
/// so the same clients, scripts and Logic Apps polling work against our engine as against Durable Functions.
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
        return group;
    }

    /// <summary>Maps the management API over the <see cref="DurableTaskClient"/> registered in the app's services.</summary>
    /// <param name="endpoints">The app or route group.</param>
    /// <param name="options">API settings; default <see cref="DurableHttpOptions"/> with no access key.</param>
    /// <returns>A builder for the mapped endpoints.</returns>
    public static IEndpointConventionBuilder MapDurableTaskManagementApi(this IEndpointRouteBuilder endpoints, DurableHttpOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapDurableTaskManagementApi(endpoints.ServiceProvider.GetRequiredService<DurableTaskClient>(), options);
    }

    private static void Map(RouteGroupBuilder group, string pattern, string method, DurableHttpApi api, Func<HttpContext, Task> handler) =>
        group.MapMethods(pattern, [method], (RequestDelegate)(context => api.HandleAsync(context, handler)));
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Serverless.Dashboard;

/// <summary>
/// Maps the web dashboard into a host: the page at <c>/</c>, its script and style under <c>/dashboard/</c> (embedded in
/// this assembly, so the dashboard works with no internet access and no build step), and its JSON under
/// <c>/dashboard/api/</c>, behind the host's access key.
/// </summary>
public static class DashboardEndpoints
{
    /// <summary>The prefix of the dashboard's own JSON routes.</summary>
    public const string ApiPrefix = "/dashboard/api";

    /// <summary>Maps the dashboard. Call after the pipeline API is mapped; the page calls it for runs.</summary>
    /// <param name="app">The host's endpoints.</param>
    /// <param name="options">The stores and the access key.</param>
    /// <returns>The dashboard's JSON route group (e.g. to add authorization policies).</returns>
    public static RouteGroupBuilder MapPipelineDashboard(this IEndpointRouteBuilder app, DashboardOptions options)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.AccessKey);
        ArgumentNullException.ThrowIfNull(options.Metadata);
        ArgumentNullException.ThrowIfNull(options.Artifacts);

        var site = new DashboardSite(options);
        app.MapGet("/", (HttpContext context) => site.Page(context));
        app.MapGet("/dashboard/{file}", (HttpContext context, string file) => site.File(context, file));

        var api = app.MapGroup(ApiPrefix).AddEndpointFilter(async (ctx, next) =>
        {
            ctx.HttpContext.Response.Headers["Cache-Control"] = "no-store";
            return site.HasAccessKey(ctx.HttpContext.Request) ? await next(ctx) : DashboardSite.MissingKey();
        });

        api.MapGet("/runs/{runId}/nodes", (string runId, CancellationToken cancellation) => site.RunNodesAsync(runId, cancellation));
        api.MapGet("/artifacts/{id:long}", (long id, CancellationToken cancellation) => site.ArtifactAsync(id, cancellation));
        api.MapGet("/artifacts/{id:long}/files/{**path}", (long id, string path, HttpContext context, CancellationToken cancellation) => site.ArtifactFileAsync(id, path, context, cancellation));
        api.MapGet("/models", (CancellationToken cancellation) => site.ModelsAsync(cancellation));
        return api;
    }
}

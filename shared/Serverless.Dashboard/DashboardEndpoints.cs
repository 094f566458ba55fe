using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Serverless.Metadata;

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

    // The page and its assets hold no data: a browser must be able to load them before it knows the key.
    private const string PageSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

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

        var page = RenderPage(options);
        app.MapGet("/", (HttpContext context) => Asset(context, page, "text/html; charset=utf-8"));
        app.MapGet("/dashboard/{file}", (HttpContext context, string file) =>
            file switch
            {
                "app.js" => Asset(context, ReadResource("app.js"), "text/javascript; charset=utf-8"),
                "app.css" => Asset(context, ReadResource("app.css"), "text/css; charset=utf-8"),
                _ => Results.NotFound(),
            });

        var data = new DashboardData(options);
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(options.AccessKey));
        var api = app.MapGroup(ApiPrefix).AddEndpointFilter(async (ctx, next) =>
        {
            var request = ctx.HttpContext.Request;
            ctx.HttpContext.Response.Headers["Cache-Control"] = "no-store";
            var given = request.Headers["x-functions-key"].FirstOrDefault() ?? request.Query["code"].FirstOrDefault();
            var match = given is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), expected);
            return match ? await next(ctx) : Results.Json(new { error = "missing or wrong access key (x-functions-key header or code query)" }, statusCode: 401);
        });

        api.MapGet("/runs/{runId}/nodes", async (string runId, CancellationToken cancellation) =>
            Results.Json(await data.RunNodesAsync(runId, cancellation), DashboardData.Json));

        api.MapGet("/artifacts/{id:long}", async (long id, CancellationToken cancellation) =>
            await data.ArtifactAsync(id, cancellation) is { } artifact
                ? Results.Json(artifact, DashboardData.Json)
                : Results.NotFound(new { error = $"no artifact {id}" }));

        api.MapGet("/artifacts/{id:long}/files/{**path}", async (long id, string path, HttpContext context, CancellationToken cancellation) =>
        {
            var file = await data.OpenFileAsync(id, path, cancellation);
            if (file.Error is not null) return Results.Json(new { error = file.Error }, statusCode: file.Status);
            // Reports are our components' HTML; still, they run sandboxed (no scripts, no same-origin access to the key).
            context.Response.Headers["Content-Security-Policy"] = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";
            context.Response.Headers["X-Content-Type-Options"] = "nosniff";
            context.Response.Headers["Referrer-Policy"] = "no-referrer";
            return Results.Stream(file.Content!, file.ContentType);
        });

        api.MapGet("/models", async (CancellationToken cancellation) =>
            Results.Json(await data.ModelsAsync(cancellation), DashboardData.Json));

        return api;
    }

    private static IResult Asset(HttpContext context, string body, string contentType)
    {
        var headers = context.Response.Headers;
        headers["Content-Security-Policy"] = PageSecurityPolicy;
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cache-Control"] = "no-cache";
        return Results.Text(body, contentType);
    }

    // The routes the page calls are configurable (a host may mount the APIs elsewhere): written into the page as JSON data,
    // which the script reads (no inline script, so the page's policy can forbid them).
    private static string RenderPage(DashboardOptions options)
    {
        var config = JsonSerializer.Serialize(new { api = options.PipelineApiBase.TrimEnd('/'), durable = options.DurableApiBase.TrimEnd('/'), dashboard = ApiPrefix })
            .Replace("<", "\\u003c", StringComparison.Ordinal);
        return ReadResource("index.html").Replace("{{CONFIG}}", config, StringComparison.Ordinal);
    }

    private static string ReadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"dashboard/{name}")
            ?? throw new InvalidOperationException($"the dashboard asset '{name}' is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}

using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Serverless.Dashboard;

/// <summary>
/// The dashboard's answers, independent of how a host routes them: the page, its script and style, and the JSON routes.
/// The local host maps each to its route (<see cref="DashboardEndpoints.MapPipelineDashboard"/>); the Azure Functions app
/// serves the same answers from two HTTP functions through <see cref="ServeAsset"/> and <see cref="ServeApiAsync"/>
/// with paths relative to its dashboard route.
/// </summary>
public sealed class DashboardSite
{
    // The page and its assets hold no data: a browser must be able to load them before it knows the key.
    private const string PageSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private readonly DashboardData data;
    private readonly string page;
    private readonly byte[]? expectedKey;

    /// <summary>Creates the site over <paramref name="options"/>' stores; the page is rendered once, with the options' route
    /// prefixes.</summary>
    public DashboardSite(DashboardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Metadata);
        ArgumentNullException.ThrowIfNull(options.Artifacts);
        data = new DashboardData(options);
        page = RenderPage(options);
        expectedKey = string.IsNullOrEmpty(options.AccessKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(options.AccessKey));
    }

    /// <summary>Whether <paramref name="request"/> carries the options' access key (<c>x-functions-key</c> header or
    /// <c>code</c> query), compared in constant time; never true without a configured key.</summary>
    public bool HasAccessKey(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var given = request.Headers["x-functions-key"].FirstOrDefault() ?? request.Query["code"].FirstOrDefault();
        return expectedKey is not null && given is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), expectedKey);
    }

    /// <summary>The 401 answer of a JSON route asked without the key.</summary>
    public static IResult MissingKey() => Results.Json(new { error = "missing or wrong access key (x-functions-key header or code query)" }, statusCode: 401);

    /// <summary>The page (no data; the route prefixes are written into it as JSON).</summary>
    public IResult Page(HttpContext context) => Asset(context, page, "text/html; charset=utf-8");

    /// <summary>The script or style by file name (<c>app.js</c>, <c>app.css</c>); 404 for any other name.</summary>
    public IResult File(HttpContext context, string file) =>
        file switch
        {
            "app.js" => Asset(context, ReadResource("app.js"), "text/javascript; charset=utf-8"),
            "app.css" => Asset(context, ReadResource("app.css"), "text/css; charset=utf-8"),
            _ => Results.NotFound(),
        };

    /// <summary>The run's executions, newest per node, with their artifacts by channel.</summary>
    public async Task<IResult> RunNodesAsync(string runId, CancellationToken cancellation) =>
        Results.Json(await data.RunNodesAsync(runId, cancellation).ConfigureAwait(false), DashboardData.Json);

    /// <summary>An artifact with producers, consumers, files and lineage; 404 when unknown.</summary>
    public async Task<IResult> ArtifactAsync(long id, CancellationToken cancellation) =>
        await data.ArtifactAsync(id, cancellation).ConfigureAwait(false) is { } artifact
            ? Results.Json(artifact, DashboardData.Json)
            : Results.NotFound(new { error = $"no artifact {id}" });

    /// <summary>A file the artifact's marker lists, sandboxed; 4xx with the reason otherwise.</summary>
    public async Task<IResult> ArtifactFileAsync(long id, string path, HttpContext context, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(context);
        var file = await data.OpenFileAsync(id, path, cancellation).ConfigureAwait(false);
        if (file.Error is not null) return Results.Json(new { error = file.Error }, statusCode: file.Status);
        // Reports are our components' HTML; still, they run sandboxed (no scripts, no same-origin access to the key).
        context.Response.Headers["Content-Security-Policy"] = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";
        context.Response.Headers["X-Content-Type-Options"] = "nosniff";
        context.Response.Headers["Referrer-Policy"] = "no-referrer";
        return Results.Stream(file.Content!, file.ContentType);
    }

    /// <summary>The serving repository's models joined with their PushedModel artifacts.</summary>
    public async Task<IResult> ModelsAsync(CancellationToken cancellation) =>
        Results.Json(await data.ModelsAsync(cancellation).ConfigureAwait(false), DashboardData.Json);

    /// <summary>
    /// The page or an asset by a path relative to the dashboard's root: empty for the page, <c>app.js</c>, <c>app.css</c>;
    /// 404 otherwise. No key: they hold no data.
    /// </summary>
    public IResult ServeAsset(HttpContext context, string? path) =>
        string.IsNullOrEmpty(path) || path == "/" ? Page(context) : File(context, path.TrimStart('/'));

    /// <summary>
    /// A JSON route by its path relative to the JSON prefix (<c>runs/{runId}/nodes</c>, <c>artifacts/{id}</c>,
    /// <c>artifacts/{id}/files/{path}</c>, <c>models</c>; decoded, as a route value is), the answers of the local host's
    /// routes; 404 for any other path.
    /// The caller has checked the access key: the local host's filter (<see cref="HasAccessKey"/>), or the Functions host,
    /// which checks its function keys before the worker sees the request.
    /// </summary>
    public Task<IResult> ServeApiAsync(HttpContext context, string? path, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.Headers["Cache-Control"] = "no-store";
        var parts = (path ?? string.Empty).Split('/', 4, StringSplitOptions.RemoveEmptyEntries);
        return parts switch
        {
            ["models"] => ModelsAsync(cancellation),
            ["runs", var runId, "nodes"] => RunNodesAsync(runId, cancellation),
            ["artifacts", var id] when long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var artifact) => ArtifactAsync(artifact, cancellation),
            ["artifacts", var id, "files", var file] when long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var artifact) => ArtifactFileAsync(artifact, file, context, cancellation),
            _ => Task.FromResult(Results.NotFound(new { error = $"no dashboard route '{path}'" })),
        };
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
    // which the script reads (no inline script, so the page's policy can forbid them). The asset links are set likewise.
    private static string RenderPage(DashboardOptions options)
    {
        var config = JsonSerializer.Serialize(new { api = options.PipelineApiBase.TrimEnd('/'), durable = options.DurableApiBase.TrimEnd('/'), dashboard = options.DashboardApiBase.TrimEnd('/') })
            .Replace("<", "\\u003c", StringComparison.Ordinal);
        var assets = System.Net.WebUtility.HtmlEncode(options.AssetBase.TrimEnd('/'));
        return ReadResource("index.html").Replace("{{CONFIG}}", config, StringComparison.Ordinal).Replace("{{ASSETS}}", assets, StringComparison.Ordinal);
    }

    private static string ReadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"dashboard/{name}")
            ?? throw new InvalidOperationException($"the dashboard asset '{name}' is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}

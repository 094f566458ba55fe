using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Serverless.Dashboard;
using Serverless.Pipelines.Orchestration;

namespace Serverless.Functions;

/// <summary>
/// The web dashboard (issue 17) served by the function app: the same page, script, style and JSON as the local host's
/// (<see cref="DashboardSite"/>), at <c>/api/dashboard</c>. The page and its assets hold no data and load without a key;
/// the JSON functions are behind the Functions host's function keys (the page sends the key it is given as
/// <c>x-functions-key</c>).
/// </summary>
public sealed class DashboardFunctions
{
    /// <summary>Where the page loads its script and style from (the page itself is <c>/api/dashboard</c>).</summary>
    public const string AssetBase = "/api/dashboard";

    /// <summary>The dashboard's JSON routes.</summary>
    public const string ApiBase = "/api/dashboard/api";

    /// <summary>
    /// Where the page reads a run's definition (Durable Functions' instance status shape with its input): the Functions
    /// host's own <c>/runtime/webhooks/durabletask</c> takes the system key, not a function key, so the app answers it here.
    /// </summary>
    public const string DurableApiBase = "/api/dashboard/durable";

    private readonly DashboardSite site;
    private readonly DurableClientBinding clients;

    /// <summary>Created by the Functions worker with the app's services.</summary>
    public DashboardFunctions(DashboardSite site, DurableClientBinding clients)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(clients);
        this.site = site;
        this.clients = clients;
    }

    /// <summary><c>GET api/dashboard</c> (the page), <c>api/dashboard/app.js</c>, <c>api/dashboard/app.css</c>.</summary>
    [Function("Dashboard")]
    public IResult Dashboard([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/{file?}")] HttpRequest request, string? file)
    {
        ArgumentNullException.ThrowIfNull(request);
        return site.ServeAsset(request.HttpContext, file);
    }

    /// <summary><c>GET api/dashboard/api/{path}</c>: the dashboard's JSON (run nodes, artifacts and their files, models).</summary>
    [Function("DashboardApi")]
    public Task<IResult> DashboardApi([HttpTrigger(AuthorizationLevel.Function, "get", Route = "dashboard/api/{*path}")] HttpRequest request, string? path)
    {
        ArgumentNullException.ThrowIfNull(request);
        return site.ServeApiAsync(request.HttpContext, path, request.HttpContext.RequestAborted);
    }

    /// <summary>
    /// <c>GET api/dashboard/durable/instances/{id}</c>: a pipeline run's instance status in Durable Functions' shape
    /// (<c>name</c>, <c>instanceId</c>, <c>runtimeStatus</c>, <c>input</c>, <c>customStatus</c>, times) for the page's
    /// graph; the history is not included (<c>historyEvents</c> empty), so per-node retries are not shown here.
    /// </summary>
    [Function("DashboardInstance")]
    public async Task<IResult> DashboardInstance(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "dashboard/durable/instances/{id}")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        clients.Use(client);
        var m = await client.GetInstanceAsync(id, getInputsAndOutputs: true, request.HttpContext.RequestAborted).ConfigureAwait(false);
        if (m is null || m.Name != PipelineOrchestrator.Name) return Results.NotFound(new { error = $"no run '{id}'" });
        request.HttpContext.Response.Headers["Cache-Control"] = "no-store";
        return Results.Json(new JsonObject
        {
            ["name"] = m.Name,
            ["instanceId"] = m.InstanceId,
            ["runtimeStatus"] = m.RuntimeStatus.ToString(),
            ["input"] = Parse(m.SerializedInput),
            ["customStatus"] = Parse(m.SerializedCustomStatus),
            ["createdTime"] = m.CreatedAt.UtcDateTime.ToString("o", System.Globalization.CultureInfo.InvariantCulture),
            ["lastUpdatedTime"] = m.LastUpdatedAt.UtcDateTime.ToString("o", System.Globalization.CultureInfo.InvariantCulture),
            ["historyEvents"] = new JsonArray(),
        });
    }

    private static JsonNode? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json)) return null;
        try
        {
            return JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return JsonValue.Create(json);
        }
    }
}

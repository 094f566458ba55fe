using Microsoft.DurableTask.Client;

namespace Serverless.Functions.Tests;

/// <summary>The dashboard served by the function app: the local host's page, assets and JSON under <c>/api/dashboard</c>.</summary>
public sealed class DashboardFunctionTests : IDisposable
{
    private readonly TempHome temp = new();

    public void Dispose() => temp.Dispose();

    private static Task<(int Status, string Body, string? Type)> GetTextAsync(FunctionsHost host, Func<Microsoft.AspNetCore.Http.HttpRequest, Microsoft.AspNetCore.Http.IResult> function) =>
        GetTextAsync(host, r => Task.FromResult(function(r)));

    private static async Task<(int Status, string Body, string? Type)> GetTextAsync(FunctionsHost host, Func<Microsoft.AspNetCore.Http.HttpRequest, Task<Microsoft.AspNetCore.Http.IResult>> function)
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext { RequestServices = host.Services };
        var output = new MemoryStream();
        context.Response.Body = output;
        await (await function(context.Request)).ExecuteAsync(context);
        return (context.Response.StatusCode, System.Text.Encoding.UTF8.GetString(output.ToArray()), context.Response.ContentType);
    }

    [Fact]
    public async Task Page_AndAssets_PointAtTheFunctionRoutes()
    {
        await using var host = await FunctionsHost.StartAsync(temp.Path);
        var dashboard = host.Create<DashboardFunctions>();

        var page = await GetTextAsync(host, r => dashboard.Dashboard(r, null));
        Assert.Equal(200, page.Status);
        Assert.StartsWith("text/html", page.Type, StringComparison.Ordinal);
        Assert.Contains("src=\"/api/dashboard/app.js\"", page.Body, StringComparison.Ordinal);
        Assert.Contains("href=\"/api/dashboard/app.css\"", page.Body, StringComparison.Ordinal);
        Assert.Contains("\"dashboard\":\"/api/dashboard/api\"", page.Body, StringComparison.Ordinal);
        Assert.Contains("\"durable\":\"/api/dashboard/durable\"", page.Body, StringComparison.Ordinal);

        var script = await GetTextAsync(host, r => dashboard.Dashboard(r, "app.js"));
        Assert.Equal(200, script.Status);
        Assert.Contains("config.dashboard", script.Body, StringComparison.Ordinal);
        Assert.Equal(404, (await GetTextAsync(host, r => dashboard.Dashboard(r, "secrets.json"))).Status);
    }

    [Fact]
    public async Task Json_RunNodesModelsAndInstance_AfterARun()
    {
        await using var host = await FunctionsHost.StartAsync(temp.Path);
        var dashboard = host.Create<DashboardFunctions>();
        await host.StartRunAsync("penguins", "dash-1");
        await host.CompletedAsync("dash-1");

        var nodes = await HttpFunctionTests.CallAsync(host, "GET", "/api/dashboard/api/runs/dash-1/nodes", null, r => dashboard.DashboardApi(r, "runs/dash-1/nodes"));
        Assert.Equal(200, nodes.Status);
        Assert.Equal(3, nodes.Body!.AsArray().Count);
        var artifactId = nodes.Body.AsArray()[0]!["outputs"]![0]!["artifact"]!["id"]!.ToString();
        var artifact = await HttpFunctionTests.CallAsync(host, "GET", $"/api/dashboard/api/artifacts/{artifactId}", null, r => dashboard.DashboardApi(r, $"artifacts/{artifactId}"));
        Assert.Equal(200, artifact.Status);
        var file = artifact.Body!["files"]!.AsArray()[0]!["path"]!.ToString();
        var content = await GetTextAsync(host, r => dashboard.DashboardApi(r, $"artifacts/{artifactId}/files/{file}"));
        Assert.Equal(200, content.Status);
        Assert.NotEmpty(content.Body);

        var models = await HttpFunctionTests.CallAsync(host, "GET", "/api/dashboard/api/models", null, r => dashboard.DashboardApi(r, "models"));
        Assert.Equal(200, models.Status);
        var unknown = await HttpFunctionTests.CallAsync(host, "GET", "/api/dashboard/api/nope", null, r => dashboard.DashboardApi(r, "nope"));
        Assert.Equal(404, unknown.Status);

        var instance = await HttpFunctionTests.CallAsync(host, "GET", "/api/dashboard/durable/instances/dash-1", null, r => dashboard.DashboardInstance(r, "dash-1", host.Client));
        Assert.Equal(200, instance.Status);
        Assert.Equal("RunPipeline", instance.Body!["name"]!.ToString());
        Assert.Equal(3, instance.Body["input"]!["pipeline"]!["nodes"]!.AsArray().Count);
    }
}

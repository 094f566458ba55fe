using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;

namespace Serverless.Functions.Tests;

/// <summary>The HTTP functions called with real ASP.NET Core requests (DefaultHttpContext), their results executed as the
/// ASP.NET Core integration does, against the local durable runtime.</summary>
public sealed class HttpFunctionTests : IDisposable
{
    private readonly TempHome temp = new();

    public void Dispose() => temp.Dispose();

    internal sealed record Response(int Status, JsonNode? Body, IHeaderDictionary Headers);

    /// <summary>Builds a request, calls the function, executes its result into the response and reads it back.</summary>
    internal static async Task<Response> CallAsync(FunctionsHost host, string method, string path, object? body, Func<HttpRequest, Task<IResult>> function)
    {
        var context = new DefaultHttpContext { RequestServices = host.Services };
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("localhost", 7071);
        var query = path.IndexOf('?', StringComparison.Ordinal);
        context.Request.Path = query < 0 ? path : path[..query];
        if (query >= 0) context.Request.QueryString = new QueryString(path[query..]);
        if (body is not null)
        {
            var bytes = body is string text ? Encoding.UTF8.GetBytes(text) : System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(body);
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentLength = bytes.Length;
            context.Request.ContentType = "application/json";
        }

        var output = new MemoryStream();
        context.Response.Body = output;
        var result = await function(context.Request);
        await result.ExecuteAsync(context);
        var json = output.Length == 0 ? null : JsonNode.Parse(Encoding.UTF8.GetString(output.ToArray()));
        return new Response(context.Response.StatusCode, json, context.Response.Headers);
    }

    private static async Task<string> WaitForGateAsync(FunctionsHost host, PipelineHttpFunctions http, string id)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        while (true)
        {
            var run = await CallAsync(host, "GET", $"/api/runs/{id}", null, r => http.GetRun(r, id, host.Client));
            var waiting = run.Body?["run"]?["Nodes"]?.AsArray().FirstOrDefault(n => n?["State"]?.ToString() == "WaitingForApproval");
            if (waiting is not null) return waiting["Node"]!.ToString();
            await Task.Delay(50, timeout.Token);
        }
    }

    private void WriteGated() => File.WriteAllText(Directory.CreateDirectory(Path.Combine(temp.Path, "pipelines")).FullName + "/gated.yaml", """
        name: gated
        nodes:
          - id: import
            component: FileCopy
            parameters: { source: data/penguins.csv }
          - id: count
            component: CsvRowCount
            inputs: { examples: import.examples }
            approval: { event: approve-count, timeout: 1h }
        """);

    [Fact]
    public async Task StartRun_AcceptedWithStatusUrl_ThenGetAndListShowIt()
    {
        await using var host = await FunctionsHost.StartAsync(temp.Path);
        var http = host.Create<PipelineHttpFunctions>();

        var start = await CallAsync(host, "POST", "/api/pipelines/penguins/runs", new { runId = "http-1" }, r => http.StartPipelineRun(r, "penguins", host.Client));
        Assert.Equal((int)HttpStatusCode.Accepted, start.Status);
        Assert.Equal("http-1", start.Body!["id"]!.ToString());
        Assert.Equal("penguins", start.Body["pipeline"]!.ToString());
        Assert.Equal("http://localhost:7071/api/runs/http-1", start.Body["statusQueryGetUri"]!.ToString());
        Assert.Equal("http://localhost:7071/api/runs/http-1", start.Headers.Location.ToString());

        await host.CompletedAsync("http-1");
        var run = await CallAsync(host, "GET", "/api/runs/http-1", null, r => http.GetRun(r, "http-1", host.Client));
        Assert.Equal(200, run.Status);
        Assert.Equal("Succeeded", run.Body!["state"]!.ToString());

        var all = await CallAsync(host, "GET", "/api/runs", null, r => http.ListRuns(r, host.Client));
        Assert.Contains(all.Body!.AsArray(), r => r!["Id"]?.ToString() == "http-1" || r!["id"]?.ToString() == "http-1");
        var other = await CallAsync(host, "GET", "/api/runs?pipeline=gated", null, r => http.ListRuns(r, host.Client));
        Assert.Empty(other.Body!.AsArray());

        var pipelines = await CallAsync(host, "GET", "/api/pipelines", null, r => Task.FromResult(http.ListPipelines(r)));
        Assert.Contains(pipelines.Body!.AsArray(), p => p!["name"]!.ToString() == "penguins_data");
    }

    [Fact]
    public async Task StartRun_BadRequests_SayWhat()
    {
        await using var host = await FunctionsHost.StartAsync(temp.Path);
        var http = host.Create<PipelineHttpFunctions>();

        var missing = await CallAsync(host, "POST", "/api/pipelines/nope/runs", null, r => http.StartPipelineRun(r, "nope", host.Client));
        Assert.Equal(404, missing.Status);
        var badJson = await CallAsync(host, "POST", "/api/pipelines/penguins/runs", "{not json", r => http.StartPipelineRun(r, "penguins", host.Client));
        Assert.Equal(400, badJson.Status);
        Assert.Contains("invalid JSON", badJson.Body!["error"]!.ToString(), StringComparison.Ordinal);
        var unknownRun = await CallAsync(host, "GET", "/api/runs/none", null, r => http.GetRun(r, "none", host.Client));
        Assert.Equal(404, unknownRun.Status);
    }

    [Fact]
    public async Task GatedRun_ApprovedOnce_ThenCompletes()
    {
        WriteGated();
        await using var host = await FunctionsHost.StartAsync(temp.Path);
        var http = host.Create<PipelineHttpFunctions>();
        await CallAsync(host, "POST", "/api/pipelines/gated/runs", new { runId = "gated-1" }, r => http.StartPipelineRun(r, "gated", host.Client));
        Assert.Equal("count", await WaitForGateAsync(host, http, "gated-1"));

        var approve = await CallAsync(host, "POST", "/api/runs/gated-1/approve", new { comment = "ok" }, r => http.ApproveRun(r, "gated-1", host.Client));
        Assert.Equal(202, approve.Status);
        var again = await CallAsync(host, "POST", "/api/runs/gated-1/approve", null, r => http.ApproveRun(r, "gated-1", host.Client));
        Assert.Equal(409, again.Status);

        var done = await host.CompletedAsync("gated-1");
        Assert.Equal(Serverless.Pipelines.Orchestration.PipelineRunState.Succeeded, done.ReadOutputAs<Serverless.Pipelines.Orchestration.PipelineRunStatus>()!.State);
    }

    [Fact]
    public async Task GatedRun_Rejected_EndsRejected()
    {
        WriteGated();
        await using var host = await FunctionsHost.StartAsync(temp.Path);
        var http = host.Create<PipelineHttpFunctions>();
        await CallAsync(host, "POST", "/api/pipelines/gated/runs", new { runId = "gated-2" }, r => http.StartPipelineRun(r, "gated", host.Client));
        await WaitForGateAsync(host, http, "gated-2");

        var reject = await CallAsync(host, "POST", "/api/runs/gated-2/reject", new { comment = "bad data" }, r => http.RejectRun(r, "gated-2", host.Client));
        Assert.Equal(202, reject.Status);
        var done = await host.WaitAsync("gated-2");
        var status = done.ReadOutputAs<Serverless.Pipelines.Orchestration.PipelineRunStatus>()!;
        Assert.Equal(Serverless.Pipelines.Orchestration.PipelineRunState.Rejected, status.State);
        Assert.Contains("bad data", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GatedRun_Canceled_IsTerminated()
    {
        WriteGated();
        await using var host = await FunctionsHost.StartAsync(temp.Path);
        var http = host.Create<PipelineHttpFunctions>();
        await CallAsync(host, "POST", "/api/pipelines/gated/runs", new { runId = "gated-3" }, r => http.StartPipelineRun(r, "gated", host.Client));
        await WaitForGateAsync(host, http, "gated-3");

        var cancel = await CallAsync(host, "POST", "/api/runs/gated-3/cancel", null, r => http.CancelRun(r, "gated-3", host.Client));
        Assert.Equal(202, cancel.Status);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, (await host.WaitAsync("gated-3")).RuntimeStatus);
        var late = await CallAsync(host, "POST", "/api/runs/gated-3/cancel", null, r => http.CancelRun(r, "gated-3", host.Client));
        Assert.Equal(409, late.Status);
    }
}

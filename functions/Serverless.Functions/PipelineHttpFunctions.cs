using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Serverless.Pipelines.Hosting;
using Serverless.Pipelines.Hosting.Http;

namespace Serverless.Functions;

/// <summary>
/// The pipeline API as HTTP functions (ASP.NET Core integration), under the Functions host's <c>/api</c> prefix and its
/// function keys: the same routes and payloads as the local host (<see cref="PipelineHttpApi"/>), answered by the same
/// handlers (<see cref="PipelineHttpHandlers"/>) over the <c>[DurableClient]</c> binding.
/// </summary>
public sealed class PipelineHttpFunctions
{
    private readonly PipelineRuntime runtime;
    private readonly DurableClientBinding clients;

    /// <summary>Created by the Functions worker with the app's services.</summary>
    public PipelineHttpFunctions(PipelineRuntime runtime, DurableClientBinding clients)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(clients);
        this.runtime = runtime;
        this.clients = clients;
    }

    /// <summary><c>GET api/pipelines</c>: the pipelines of the folder.</summary>
    [Function("ListPipelines")]
    public IResult ListPipelines([HttpTrigger(AuthorizationLevel.Function, "get", Route = "pipelines")] HttpRequest request) =>
        PipelineHttpHandlers.ListPipelines(runtime);

    /// <summary><c>POST api/pipelines/{name}/runs</c>: starts a run; 202 with <c>statusQueryGetUri</c>.</summary>
    [Function("StartPipelineRun")]
    public Task<IResult> StartPipelineRun(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "pipelines/{name}/runs")] HttpRequest request,
        string name,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        clients.Use(client);
        return PipelineHttpHandlers.StartRunAsync(runtime, name, request, request.HttpContext.RequestAborted);
    }

    /// <summary><c>GET api/runs[?pipeline=NAME]</c>: the runs, newest first.</summary>
    [Function("ListRuns")]
    public Task<IResult> ListRuns([HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs")] HttpRequest request, [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        clients.Use(client);
        var pipeline = request.Query["pipeline"].FirstOrDefault();
        return PipelineHttpHandlers.ListRunsAsync(runtime, string.IsNullOrEmpty(pipeline) ? null : pipeline, request.HttpContext.RequestAborted);
    }

    /// <summary><c>GET api/runs/{id}</c>: a run's status with its nodes.</summary>
    [Function("GetRun")]
    public Task<IResult> GetRun([HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{id}")] HttpRequest request, string id, [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        clients.Use(client);
        return PipelineHttpHandlers.GetRunAsync(runtime, id, request.HttpContext.RequestAborted);
    }

    /// <summary><c>POST api/runs/{id}/cancel</c>.</summary>
    [Function("CancelRun")]
    public Task<IResult> CancelRun([HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs/{id}/cancel")] HttpRequest request, string id, [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        clients.Use(client);
        return PipelineHttpHandlers.CancelRunAsync(runtime, id, request.HttpContext.RequestAborted);
    }

    /// <summary><c>POST api/runs/{id}/approve</c> with an optional <see cref="ApprovalRequest"/> body.</summary>
    [Function("ApproveRun")]
    public Task<IResult> ApproveRun([HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs/{id}/approve")] HttpRequest request, string id, [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        clients.Use(client);
        return PipelineHttpHandlers.DecideAsync(runtime, id, true, request, request.HttpContext.RequestAborted);
    }

    /// <summary><c>POST api/runs/{id}/reject</c> with an optional <see cref="ApprovalRequest"/> body.</summary>
    [Function("RejectRun")]
    public Task<IResult> RejectRun([HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs/{id}/reject")] HttpRequest request, string id, [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        clients.Use(client);
        return PipelineHttpHandlers.DecideAsync(runtime, id, false, request, request.HttpContext.RequestAborted);
    }
}

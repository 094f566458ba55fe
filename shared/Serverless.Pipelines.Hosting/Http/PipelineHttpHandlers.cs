using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using DurableTask.Core.Exceptions;
using Serverless.Pipelines.Hosting.Triggers;
using Serverless.Pipelines;
using Serverless.Pipelines.Orchestration;

namespace Serverless.Pipelines.Hosting.Http;

/// <summary>
/// The handlers of the pipeline routes, shared by both hosts: the local host maps them under <c>/api</c>
/// (<see cref="PipelineHttpApi.MapPipelineApi"/>, behind its access key) and the Azure Functions app calls them from its
/// HTTP functions (functions/Serverless.Functions, behind the Functions host's keys). Each takes the
/// <see cref="PipelineRuntime"/> (whose <see cref="PipelineRuntime.Client"/> is the SDK's <see cref="DurableTaskClient"/>:
/// DTFx's client locally, the <c>[DurableClient]</c> binding in Functions) and the ASP.NET Core request, and returns the
/// response as an <see cref="IResult"/>; the routes and payloads are the same in both hosts.
/// </summary>
public static class PipelineHttpHandlers
{
    /// <summary><c>GET pipelines</c>: the loadable pipelines of the folder with their nodes.</summary>
    public static IResult ListPipelines(PipelineRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        return Results.Ok(runtime.ListPipelines().Select(p => new { name = p.Name, file = p.SourceFile, nodes = p.Nodes.Select(n => n.Id) }));
    }

    /// <summary><c>POST pipelines/{name}/runs</c> with an optional <see cref="StartRunRequest"/> body: 202 with the run id and
    /// its status URL (<c>statusQueryGetUri</c>, also the <c>Location</c> header), 400 (what is wrong), 404, 409 (still
    /// running), 413.</summary>
    public static async Task<IResult> StartRunAsync(PipelineRuntime runtime, string name, HttpRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(request);
        var (read, bad) = await ReadBodyAsync<StartRunRequest>(request, runtime.Options.Limits.MaxRequestBytes, cancellation);
        if (bad is not null) return bad;
        var body = read ?? new StartRunRequest();

        try
        {
            var pipeline = runtime.FindPipeline(name);
            if (pipeline is null) return Results.NotFound(new { error = $"no pipeline {ErrorText.Quote(name)} in {runtime.Options.PipelinesFolder}" });
            var input = await runtime.StartAsync(pipeline, new RunRequest
            {
                RunId = body.RunId,
                Parameters = body.Parameters,
                DataPath = body.Data,
                DataBlob = body.DataBlob,
                From = body.From,
                Trigger = "http",
                Source = ParameterSource.Request,
            }, cancellation);
            var statusUri = $"{request.Scheme}://{request.Host}/api/runs/{input.RunId}";
            return Results.Accepted(statusUri, new { id = input.RunId, pipeline = pipeline.Name, statusQueryGetUri = statusUri });
        }
        catch (PipelineValidationException e)
        {
            return Results.BadRequest(new { error = "the run was not started", errors = e.Errors.Select(x => x.ToString()) });
        }
        catch (OrchestrationAlreadyExistsException)
        {
            return Results.Conflict(new { error = $"run {ErrorText.Quote(body.RunId)} is still running" });
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Never an empty 500: say what failed, quoting at most a prefix.
            return Results.Json(new { error = $"the run was not started: {e.GetType().Name}: {ErrorText.Quote(e.Message, 300)}" }, statusCode: 500);
        }
    }

    /// <summary><c>GET runs[?pipeline=NAME]</c>: the pipeline runs, newest first (<see cref="PipelineHttpApi.RunSummary"/>).</summary>
    public static async Task<IResult> ListRunsAsync(PipelineRuntime runtime, string? pipeline, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var runs = new List<PipelineHttpApi.RunSummary>();
        await foreach (var m in runtime.Client.GetAllInstancesAsync(new OrchestrationQuery { FetchInputsAndOutputs = true }).WithCancellation(cancellation))
        {
            if (m.Name != PipelineOrchestrator.Name) continue;
            var summary = PipelineHttpApi.Summary(m);
            if (pipeline is null || summary.Pipeline == pipeline) runs.Add(summary);
        }

        return Results.Ok(runs.OrderByDescending(r => r.CreatedAt));
    }

    /// <summary><c>GET runs/{id}</c>: the run's status with every node's state (200 once ended, 202 while running), 404.</summary>
    public static async Task<IResult> GetRunAsync(PipelineRuntime runtime, string id, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var m = await runtime.Client.GetInstanceAsync(id, true, cancellation);
        if (m is null || m.Name != PipelineOrchestrator.Name) return Results.NotFound(new { error = $"no run '{id}'" });
        var status = m.ReadCustomStatusAs<PipelineRunStatus>();
        var body = new JsonObject
        {
            ["id"] = id,
            ["runtimeStatus"] = m.RuntimeStatus.ToString(),
            ["state"] = status?.State.ToString() ?? "Pending",
            ["message"] = m.FailureDetails?.ErrorMessage ?? status?.Message,
            ["createdAt"] = m.CreatedAt,
            ["lastUpdatedAt"] = m.LastUpdatedAt,
            ["run"] = System.Text.Json.JsonSerializer.SerializeToNode(status),
        };
        return Results.Json(body, statusCode: m.IsCompleted ? 200 : 202);
    }

    /// <summary><c>POST runs/{id}/cancel</c>: records the cancellation where the node activities look, then terminates the
    /// orchestration; 202, 404, 409 (already ended).</summary>
    public static async Task<IResult> CancelRunAsync(PipelineRuntime runtime, string id, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var m = await runtime.Client.GetInstanceAsync(id, true, cancellation);
        if (m is null) return Results.NotFound(new { error = $"no run '{id}'" });
        if (m.IsCompleted) return Results.Conflict(new { error = $"run '{id}' already ended ({m.RuntimeStatus})" });
        // Recorded first, where the node activities look: a running node stops within a poll interval, and no node of
        // this start runs again, even after a restart or a purge. Then the orchestration ends.
        var started = m.ReadCustomStatusAs<PipelineRunStatus>()?.Nodes.Select(n => MetadataRunCancellation.IncarnationOf(id, n.ExecutionId, n.Node)).FirstOrDefault(i => i is not null);
        await runtime.Cancellations.CancelAsync(id, started, "canceled through the HTTP API", cancellation);
        await runtime.Client.TerminateInstanceAsync(id, "canceled", cancellation);
        return Results.Accepted($"/api/runs/{id}", new { id, canceled = true });
    }

    /// <summary><c>GET schedules</c>: the host.json timers with their stored status (none without a timer service).</summary>
    public static async Task<IResult> ListSchedulesAsync(PipelineRuntime runtime, TimerTriggerService? timers, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var list = new List<object>();
        foreach (var timer in runtime.Options.Timers)
        {
            var status = timers is null ? null : await timers.GetStatusAsync(timer.Name, cancellation);
            list.Add(new { name = timer.Name, pipeline = timer.Pipeline, schedule = timer.Schedule, last = status?.Last, next = status?.Next, lastRunId = status?.LastRunId });
        }

        return Results.Ok(list);
    }

    /// <summary>
    /// <c>POST runs/{id}/approve</c> and <c>.../reject</c> with an optional <see cref="ApprovalRequest"/> body: decides the gate
    /// that waits now, exactly once (the wait's token is claimed in the blob store first); 202, 404, 409.
    /// </summary>
    public static async Task<IResult> DecideAsync(PipelineRuntime runtime, string id, bool approved, HttpRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(request);
        var (read, bad) = await ReadBodyAsync<ApprovalRequest>(request, runtime.Options.Limits.MaxRequestBytes, cancellation);
        if (bad is not null) return bad;
        var body = read ?? new ApprovalRequest();

        var m = await runtime.Client.GetInstanceAsync(id, true, cancellation);
        if (m is null || m.Name != PipelineOrchestrator.Name) return Results.NotFound(new { error = $"no run {ErrorText.Quote(id)}" });
        if (m.IsCompleted) return Results.Conflict(new { error = $"run '{id}' already ended ({m.RuntimeStatus})" });

        // Only a gate that waits now can be decided, and only once: the decision carries the wait's token (the orchestrator
        // ignores any other), and the first request to claim the token in the store is the one that raises it.
        var pipeline = m.ReadInputAs<PipelineRunInput>()?.Pipeline;
        var gates = (m.ReadCustomStatusAs<PipelineRunStatus>()?.Nodes ?? [])
            .Where(n => n.State == NodeState.WaitingForApproval && n.ApprovalToken is not null)
            .Select(n => (Node: n, Event: pipeline?.Nodes.FirstOrDefault(d => d.Id == n.Node)?.Approval?.EventName))
            .Where(g => g.Event is not null && (body.Event is null || g.Event == body.Event))
            .ToList();
        if (gates.Count == 0)
        {
            var which = body.Event is null ? "no node" : $"no node with approval event {ErrorText.Quote(body.Event)}";
            return Results.Conflict(new { error = $"run '{id}' has {which} waiting for approval now" });
        }

        var (node, eventName) = gates[0];
        try
        {
            using var claim = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(approved ? "approved" : "rejected"));
            await runtime.Blobs.UploadAsync($"{PipelineHttpApi.ApprovalClaimPrefix}{id}/{node.ApprovalToken}", claim, new Serverless.Storage.BlobUploadOptions { IfNotExists = true }, cancellation);
        }
        catch (Serverless.Storage.BlobConditionFailedException)
        {
            return Results.Conflict(new { error = $"node '{node.Node}' of run '{id}' was already approved or rejected" });
        }

        await runtime.Client.RaiseEventAsync(id, eventName!, new ApprovalDecision(approved, body.Comment, node.ApprovalToken), cancellation);
        return Results.Accepted($"/api/runs/{id}", new { id, @event = eventName, approved });
    }

    // A JSON body of at most maxBytes (413 without reading more), or a 400 quoting only the start of what was wrong.
    private static async Task<(T? Body, IResult? Error)> ReadBodyAsync<T>(HttpRequest request, long maxBytes, CancellationToken cancellation)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            return (null, null);
        }

        IResult TooLarge() => Results.Json(new { error = $"the request body is larger than {maxBytes} bytes (host.json extensions.pipelines.limits.maxRequestBytes)" }, statusCode: StatusCodes.Status413PayloadTooLarge);
        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge());
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = maxBytes;
        }

        try
        {
            return (await request.ReadFromJsonAsync<T>(cancellation), null);
        }
        catch (System.Text.Json.JsonException e)
        {
            return (null, Results.BadRequest(new { error = $"invalid JSON body: {ErrorText.Quote(e.Message, 300)}" }));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge());
        }
    }
}

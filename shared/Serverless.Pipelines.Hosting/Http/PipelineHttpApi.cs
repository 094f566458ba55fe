using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using DurableTask.Core.Exceptions;
using Serverless.Pipelines.Hosting.Triggers;
using Serverless.Pipelines;
using Serverless.Pipelines.Orchestration;

namespace Serverless.Pipelines.Hosting.Http;

/// <summary>The body of <c>POST /api/pipelines/{name}/runs</c>.</summary>
/// <param name="RunId">Optional run id (default: <c>{pipeline}-{time}-{hex}</c>); an existing finished run's id restarts it.</param>
/// <param name="Parameters">Run parameters: <c>node.param</c> or <c>param</c> -> value.</param>
/// <param name="Data">A local data path for the pipeline's data parameter.</param>
/// <param name="DataBlob">A blob in the store to use as data (copied to a local file first).</param>
/// <param name="From">Re-execute this node and its downstream even if cached.</param>
public sealed record StartRunRequest(string? RunId = null, Dictionary<string, string>? Parameters = null, string? Data = null, string? DataBlob = null, string? From = null);

/// <summary>The body of approve / reject.</summary>
/// <param name="Comment">Who decided and why.</param>
/// <param name="Event">The approval event of the gate to decide; default: the gate of the node now waiting. A gate that does
/// not wait now cannot be decided (409).</param>
public sealed record ApprovalRequest(string? Comment = null, string? Event = null);

/// <summary>
/// The pipeline routes: start a run of a named pipeline, get a run's status (per node state, duration, artifacts),
/// list runs, cancel, approve / reject, list pipelines and schedules. Same access key as the management API.
/// </summary>
public static class PipelineHttpApi
{
    /// <summary>Where approve / reject claim a wait's token in the blob store (create-if-absent), so that of concurrent
    /// decisions exactly one is raised.</summary>
    public const string ApprovalClaimPrefix = "_approvals/";

    /// <summary>Maps the routes under <c>/api</c>.</summary>
    public static void MapPipelineApi(this IEndpointRouteBuilder app, PipelineRuntime runtime, TimerTriggerService? timers, string? accessKey)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(runtime);
        var api = app.MapGroup("/api").AddEndpointFilter(async (ctx, next) =>
        {
            if (accessKey is null) return await next(ctx);
            var request = ctx.HttpContext.Request;
            var given = request.Headers["x-functions-key"].FirstOrDefault() ?? request.Query["code"].FirstOrDefault();
            return AccessKeys.Matches(given, accessKey) ? await next(ctx) : Results.Json(new { error = "missing or wrong access key (x-functions-key header or code query)" }, statusCode: 401);
        });

        api.MapGet("/pipelines", () => Results.Ok(runtime.ListPipelines().Select(p => new { name = p.Name, file = p.SourceFile, nodes = p.Nodes.Select(n => n.Id) })));

        api.MapPost("/pipelines/{name}/runs", async (string name, HttpRequest request, CancellationToken cancellation) =>
        {
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
        });

        api.MapGet("/runs", async (string? pipeline, CancellationToken cancellation) =>
        {
            var runs = new List<object>();
            await foreach (var m in runtime.Client.GetAllInstancesAsync(new OrchestrationQuery { FetchInputsAndOutputs = true }).WithCancellation(cancellation))
            {
                if (m.Name != PipelineOrchestrator.Name) continue;
                var summary = Summary(m);
                if (pipeline is null || summary.Pipeline == pipeline) runs.Add(summary);
            }

            return Results.Ok(runs.OrderByDescending(r => ((RunSummary)r).CreatedAt));
        });

        api.MapGet("/runs/{id}", async (string id, CancellationToken cancellation) =>
        {
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
        });

        api.MapPost("/runs/{id}/cancel", async (string id, CancellationToken cancellation) =>
        {
            var m = await runtime.Client.GetInstanceAsync(id, true, cancellation);
            if (m is null) return Results.NotFound(new { error = $"no run '{id}'" });
            if (m.IsCompleted) return Results.Conflict(new { error = $"run '{id}' already ended ({m.RuntimeStatus})" });
            // Recorded first, where the node activities look: a running node stops within a poll interval, and no node of
            // this start runs again, even after a restart or a purge. Then the orchestration ends.
            var started = m.ReadCustomStatusAs<PipelineRunStatus>()?.Nodes.Select(n => MetadataRunCancellation.IncarnationOf(id, n.ExecutionId, n.Node)).FirstOrDefault(i => i is not null);
            await runtime.Cancellations.CancelAsync(id, started, "canceled through the HTTP API", cancellation);
            await runtime.Client.TerminateInstanceAsync(id, "canceled", cancellation);
            return Results.Accepted($"/api/runs/{id}", new { id, canceled = true });
        });

        api.MapPost("/runs/{id}/approve", (string id, HttpRequest request, CancellationToken cancellation) => DecideAsync(runtime, id, true, request, cancellation));
        api.MapPost("/runs/{id}/reject", (string id, HttpRequest request, CancellationToken cancellation) => DecideAsync(runtime, id, false, request, cancellation));

        api.MapGet("/schedules", async (CancellationToken cancellation) =>
        {
            var list = new List<object>();
            foreach (var timer in runtime.Options.Timers)
            {
                var status = timers is null ? null : await timers.GetStatusAsync(timer.Name, cancellation);
                list.Add(new { name = timer.Name, pipeline = timer.Pipeline, schedule = timer.Schedule, last = status?.Last, next = status?.Next, lastRunId = status?.LastRunId });
            }

            return Results.Ok(list);
        });
    }

    /// <summary>A line of the run list.</summary>
    /// <param name="Id">The run id.</param>
    /// <param name="Pipeline">The pipeline name.</param>
    /// <param name="RuntimeStatus">The orchestration's status.</param>
    /// <param name="State">The pipeline state.</param>
    /// <param name="Trigger">What started it.</param>
    /// <param name="Message">The summary.</param>
    /// <param name="CreatedAt">When it was started.</param>
    /// <param name="LastUpdatedAt">When it last changed.</param>
    public sealed record RunSummary(string Id, string Pipeline, string RuntimeStatus, string State, string Trigger, string? Message, DateTimeOffset CreatedAt, DateTimeOffset LastUpdatedAt);

    /// <summary>Summarizes an instance of the pipeline orchestrator.</summary>
    public static RunSummary Summary(OrchestrationMetadata m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var status = m.ReadCustomStatusAs<PipelineRunStatus>();
        PipelineRunInput? input = null;
        try
        {
            input = m.ReadInputAs<PipelineRunInput>();
        }
        catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
        {
        }

        return new RunSummary(m.InstanceId, status?.Pipeline ?? input?.Pipeline.Name ?? "?", m.RuntimeStatus.ToString(), status?.State.ToString() ?? "Pending",
            input?.Trigger ?? "?", m.FailureDetails?.ErrorMessage ?? status?.Message, m.CreatedAt, m.LastUpdatedAt);
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

    private static async Task<IResult> DecideAsync(PipelineRuntime runtime, string id, bool approved, HttpRequest request, CancellationToken cancellation)
    {
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
            await runtime.Blobs.UploadAsync($"{ApprovalClaimPrefix}{id}/{node.ApprovalToken}", claim, new Serverless.Storage.BlobUploadOptions { IfNotExists = true }, cancellation);
        }
        catch (Serverless.Storage.BlobConditionFailedException)
        {
            return Results.Conflict(new { error = $"node '{node.Node}' of run '{id}' was already approved or rejected" });
        }

        await runtime.Client.RaiseEventAsync(id, eventName!, new ApprovalDecision(approved, body.Comment, node.ApprovalToken), cancellation);
        return Results.Accepted($"/api/runs/{id}", new { id, @event = eventName, approved });
    }
}

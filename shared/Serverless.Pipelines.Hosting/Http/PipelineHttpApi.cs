using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Serverless.Pipelines.Hosting.Triggers;
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

        api.MapGet("/pipelines", () => PipelineHttpHandlers.ListPipelines(runtime));
        api.MapPost("/pipelines/{name}/runs", (string name, HttpRequest request, CancellationToken cancellation) => PipelineHttpHandlers.StartRunAsync(runtime, name, request, cancellation));
        api.MapGet("/runs", (string? pipeline, CancellationToken cancellation) => PipelineHttpHandlers.ListRunsAsync(runtime, pipeline, cancellation));
        api.MapGet("/runs/{id}", (string id, CancellationToken cancellation) => PipelineHttpHandlers.GetRunAsync(runtime, id, cancellation));
        api.MapPost("/runs/{id}/cancel", (string id, CancellationToken cancellation) => PipelineHttpHandlers.CancelRunAsync(runtime, id, cancellation));
        api.MapPost("/runs/{id}/approve", (string id, HttpRequest request, CancellationToken cancellation) => PipelineHttpHandlers.DecideAsync(runtime, id, true, request, cancellation));
        api.MapPost("/runs/{id}/reject", (string id, HttpRequest request, CancellationToken cancellation) => PipelineHttpHandlers.DecideAsync(runtime, id, false, request, cancellation));
        api.MapGet("/schedules", (CancellationToken cancellation) => PipelineHttpHandlers.ListSchedulesAsync(runtime, timers, cancellation));
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
}

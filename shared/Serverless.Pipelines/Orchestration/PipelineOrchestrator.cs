using Microsoft.DurableTask;

namespace Serverless.Pipelines.Orchestration;

/// <summary>
/// The one generic orchestrator that runs any pipeline: each node is one activity call (with the node's retry policy),
/// to the activity named after its component type when the host registered one (<see cref="ComponentActivities"/>), else
/// to <see cref="RunPipelineNodeActivity"/>; a node starts as soon as every node it reads from
/// has finished, so independent branches run in parallel. The custom status lists every node's state, duration
/// and artifacts.
/// </summary>
/// <remarks>
/// Failure semantics: a node that fails after its retries is FAILED (in status and, through the node runner, in
/// metadata); nodes downstream of it are SKIPPED (never started); nodes already running or on independent branches
/// finish and keep their artifacts; the orchestration then fails with a message naming the node and its error.
/// An approval gate waits for its external event (<see cref="ApprovalDecision"/>) for its timeout; a rejection or a
/// timeout ends the run (Rejected / ApprovalTimedOut) without running the gated node or its downstream.
/// Resume: execution ids are <c>{runId}-{start tag}-{node}</c>, the tag a replay-safe GUID of this start, so a
/// restarted run (same run id) or a new run computes the same cache keys and reuses every completed node (CACHED);
/// only failed, new or changed nodes, and everything from <see cref="PipelineRunInput.From"/> down, execute.
/// Determinism: the pipeline is validated without touching the file system (paths are checked by the starter),
/// and all times are the orchestration's.
/// A Microsoft.DurableTask class with nothing of ours in between: it runs unchanged on the local host (DTFx) and in an
/// Azure Functions isolated app (functions/Serverless.Functions creates it in its <c>RunPipeline</c> orchestrator function).
/// </remarks>
[DurableTask(Name)]
public sealed class PipelineOrchestrator : TaskOrchestrator<PipelineRunInput, PipelineRunStatus>
{
    /// <summary>The orchestrator's registered name.</summary>
    public const string Name = "RunPipeline";

    private readonly ComponentRegistry registry;
    private readonly PipelineLimits limits;
    private readonly ComponentActivities activities;

    /// <summary>Creates the orchestrator for pipelines made of <paramref name="registry"/>'s components.</summary>
    /// <param name="registry">The components.</param>
    /// <param name="limits">The host's limits (node count, parameter size); default <see cref="PipelineLimits.Default"/>.</param>
    /// <param name="activities">The component types the host registered an activity of their own for; default none (every
    /// node runs as <see cref="RunPipelineNodeActivity.Name"/>).</param>
    public PipelineOrchestrator(ComponentRegistry registry, PipelineLimits? limits = null, ComponentActivities? activities = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        this.registry = registry;
        this.limits = limits ?? PipelineLimits.Default;
        this.activities = activities ?? ComponentActivities.None;
    }

    /// <summary>The GPU job queue's settings: with them, nodes of <see cref="TrainingJobSettings.Pool"/> run as queued jobs
    /// (<see cref="TrainingJobOrchestration"/>); null (the embedded default): every node is an activity.</summary>
    public TrainingJobSettings? TrainingJobs { get; init; }

    /// <inheritdoc/>
    public override async Task<PipelineRunStatus> RunAsync(TaskOrchestrationContext context, PipelineRunInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        // A poison input (a 100,000-node cycle, nulls, oversized values) fails this instance here, in linear time: the
        // validator never recurses, so no input can take the worker process down with it.
        var graph = PipelineValidator.Validate(input.Pipeline, registry, new PipelineValidationOptions { CheckPaths = false, Limits = limits }).GraphOrThrow();
        var forced = input.From is null ? new HashSet<string>(StringComparer.Ordinal) : Downstream(graph, input.From);
        var tag = context.NewGuid().ToString("N")[..8];
        var states = graph.Nodes.ToDictionary(n => n.Id, n => new NodeRunState { Node = n.Id, Component = n.Spec.Type }, StringComparer.Ordinal);
        var results = new Dictionary<string, NodeRunResult>(StringComparer.Ordinal);
        var running = new Dictionary<Task<NodeRunState>, string>();
        var started = new HashSet<string>(StringComparer.Ordinal);
        var runState = PipelineRunState.Running;
        var message = string.Empty;

        PipelineRunStatus Status() => new()
        {
            Pipeline = graph.Name,
            RunId = input.RunId,
            State = runState,
            Message = message,
            Trigger = input.Trigger,
            Nodes = graph.Nodes.Select(n => states[n.Id]).ToList(),
        };
        void Publish() => context.SetCustomStatus(Status());

        async Task<NodeRunState> RunNodeAsync(PipelineNode node, NodeRunRequest request)
        {
            var begin = context.CurrentUtcDateTime;
            if (node.Definition.Approval is { } gate)
            {
                // A token per wait, published in the status: only a decision naming it counts. Durable Task buffers an
                // event raised before the wait and hands it to a later wait, so a decision sent while no gate waited (or
                // for an earlier wait) is consumed here and ignored, and a gate counts exactly one decision.
                var token = context.NewGuid().ToString("N");
                states[node.Id] = states[node.Id] with { State = NodeState.WaitingForApproval, ExecutionId = request.ExecutionId, StartedAt = begin, ApprovalToken = token };
                Publish();
                var deadline = context.CurrentUtcDateTime + gate.Timeout;
                ApprovalDecision? decision = null;
                while (decision is null)
                {
                    var left = deadline - context.CurrentUtcDateTime;
                    ApprovalDecision? received;
                    try
                    {
                        received = left > TimeSpan.Zero ? await context.WaitForExternalEvent<ApprovalDecision>(gate.EventName, left) : throw new TaskCanceledException();
                    }
                    catch (TaskCanceledException)
                    {
                        return states[node.Id] with { State = NodeState.TimedOut, ApprovalToken = null, Error = $"approval '{gate.EventName}' did not arrive within {gate.Timeout}" };
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        continue; // a payload that is not a decision: ignored like a decision without the token
                    }

                    decision = received is not null && string.Equals(received.Token, token, StringComparison.Ordinal) ? received : null;
                }

                if (!decision.Approved)
                {
                    var why = decision.Comment is { Length: > 0 } c ? $": {c}" : string.Empty;
                    return states[node.Id] with { State = NodeState.Rejected, ApprovalToken = null, Error = $"approval '{gate.EventName}' was rejected{why}" };
                }

                states[node.Id] = states[node.Id] with { ApprovalToken = null };
                begin = context.CurrentUtcDateTime;
            }

            states[node.Id] = states[node.Id] with { State = NodeState.Running, ExecutionId = request.ExecutionId, StartedAt = begin };
            Publish();
            var retry = node.Definition.Retry is { } r
                ? new TaskOptions(new RetryPolicy(r.MaxAttempts, r.FirstRetryInterval, r.BackoffCoefficient, r.MaxRetryInterval, r.RetryTimeout))
                : null;
            try
            {
                NodeRunResult result;
                if (TrainingJobs is { } jobs && jobs.IsJob(node))
                {
                    // A GPU job: queued for the trainer app, awaited as external events (TrainingJobs.cs).
                    result = await TrainingJobOrchestration.RunAsync(context, jobs, node, request, (state, detail, queued) =>
                    {
                        states[node.Id] = states[node.Id] with { State = state, Detail = detail, QueueLength = queued };
                        Publish();
                    });
                }
                else
                {
                    result = await context.CallActivityAsync<NodeRunResult>(activities.NameFor(node.Spec.Type), request, retry);
                }

                results[node.Id] = result;
                return states[node.Id] with
                {
                    State = result.Status == NodeRunStatus.Cached ? NodeState.Cached : NodeState.Complete,
                    DurationSeconds = (context.CurrentUtcDateTime - begin).TotalSeconds,
                    Artifacts = result.Outputs.ToDictionary(o => o.Key, o => o.Value.Uri, StringComparer.Ordinal),
                    ArtifactIds = result.Outputs.ToDictionary(o => o.Key, o => o.Value.Id, StringComparer.Ordinal),
                };
            }
            catch (TaskFailedException e)
            {
                return states[node.Id] with
                {
                    State = NodeState.Failed,
                    DurationSeconds = (context.CurrentUtcDateTime - begin).TotalSeconds,
                    Error = e.FailureDetails.ErrorMessage,
                };
            }
        }

        while (true)
        {
            // Topological order: a node's upstream states are final before the node is looked at in the same pass.
            foreach (var node in graph.Nodes.Where(n => !started.Contains(n.Id)))
            {
                var blocker = node.Upstream.FirstOrDefault(u => states[u].State is NodeState.Failed or NodeState.Skipped or NodeState.Rejected or NodeState.TimedOut);
                if (blocker is not null)
                {
                    started.Add(node.Id);
                    states[node.Id] = states[node.Id] with { State = NodeState.Skipped, Error = $"not run: upstream node '{blocker}' is {states[blocker].State.ToString().ToUpperInvariant()}" };
                    continue;
                }

                if (node.Upstream.All(results.ContainsKey))
                {
                    started.Add(node.Id);
                    var request = NodeRunRequest.ForNode(graph, node.Id, input.RunId, $"{input.RunId}-{tag}-{node.Id}", results);
                    if (forced.Contains(node.Id))
                    {
                        request = request with { EnableCache = false };
                    }

                    running[RunNodeAsync(node, request)] = node.Id;
                }
            }

            if (running.Count == 0)
            {
                break;
            }

            Publish();
            var done = await Task.WhenAny(running.Keys);
            var id = running[done];
            running.Remove(done);
            states[id] = await done;
        }

        var final = graph.Nodes.Select(n => states[n.Id]).ToList();
        var failed = final.Where(s => s.State == NodeState.Failed).ToList();
        var rejected = final.FirstOrDefault(s => s.State is NodeState.Rejected or NodeState.TimedOut);
        var skipped = final.Where(s => s.State == NodeState.Skipped).Select(s => s.Node).ToList();
        var notRun = skipped.Count == 0 ? string.Empty : $"; not run: {string.Join(", ", skipped)}";
        if (failed.Count > 0)
        {
            runState = PipelineRunState.Failed;
            message = string.Join("; ", failed.Select(f => $"node '{f.Node}' FAILED: {f.Error}")) + notRun;
            Publish();
            throw new PipelineRunFailedException(input.RunId, message);
        }

        if (rejected is not null)
        {
            runState = rejected.State == NodeState.Rejected ? PipelineRunState.Rejected : PipelineRunState.ApprovalTimedOut;
            message = $"node '{rejected.Node}' {rejected.State.ToString().ToUpperInvariant()}: {rejected.Error}{notRun}";
        }
        else
        {
            runState = PipelineRunState.Succeeded;
            var executed = final.Count(s => s.State == NodeState.Complete);
            message = $"{final.Count} nodes: {executed} executed, {final.Count - executed} cached";
        }

        Publish();
        return Status();
    }

    /// <summary>The node <paramref name="from"/> and every node that reads, directly or not, from it.</summary>
    /// <exception cref="ArgumentException">No such node.</exception>
    public static HashSet<string> Downstream(PipelineGraph graph, string from)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentException.ThrowIfNullOrEmpty(from);
        if (!graph.Nodes.Any(n => n.Id == from))
        {
            throw new ArgumentException($"--from: pipeline '{graph.Name}' has no node '{from}' (nodes: {string.Join(", ", graph.Nodes.Select(n => n.Id))})", nameof(from));
        }

        var set = new HashSet<string>(StringComparer.Ordinal) { from };
        foreach (var node in graph.Nodes)
        {
            if (node.Upstream.Any(set.Contains))
            {
                set.Add(node.Id);
            }
        }

        return set;
    }
}

/// <summary>A pipeline run ended with failed nodes; the message names each and its error.</summary>
public sealed class PipelineRunFailedException(string runId, string message) : Exception($"Pipeline run '{runId}' failed: {message}")
{
    /// <summary>The run id.</summary>
    public string RunId { get; } = runId;
}

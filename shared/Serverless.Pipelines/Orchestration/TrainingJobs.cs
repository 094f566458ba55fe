using Microsoft.DurableTask;

namespace Serverless.Pipelines.Orchestration;

/// <summary>
/// The GPU job path of <see cref="PipelineOrchestrator"/>: with a job queue configured, a node whose <c>pool</c> is the job
/// pool (<c>gpu</c>) does not run as an activity in whichever worker takes it; the <see cref="TrainingJobOrchestration.SubmitActivityName"/> activity
/// writes a job to the queue that the GPU app (a plain queue worker, no Durable dependency) leases, and the orchestrator
/// waits for the external events the worker raises through the job's callback (Durable Functions' <c>sendEventPostUri</c>):
/// <c>TrainingStarted</c>, then <c>TrainingCompleted</c> (the <see cref="NodeRunResult"/>) or <c>TrainingFailed</c> (the
/// worker's error), each suffixed with the node id so parallel jobs of one run stay apart. A durable timer bounds each
/// attempt; on timeout the job is submitted again, up to the node's <c>retry.max_attempts</c> (default 1).
/// </summary>
/// <remarks>
/// The wait runs inside the pipeline orchestration rather than a sub-orchestration, so the node's line in the run's custom
/// status shows <see cref="NodeState.WaitingForGpuWorker"/> with the queue length, then Running once a worker leased the
/// job. Event waits are created once per node and re-armed only after they fire (never canceled), so a wait canceled at
/// an attempt's timeout cannot swallow a later event. The configuration decides at each replay whether a node is a job:
/// change it only between runs (a run replayed with another setting fails as non-deterministic).
/// </remarks>
public sealed record TrainingJobSettings
{
    /// <summary>The pool whose nodes become jobs. Default <c>gpu</c>.</summary>
    public string Pool { get; init; } = "gpu";

    /// <summary>How long one attempt may take from submission to its end event before the job is submitted again.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromHours(6);

    /// <summary>While no worker has taken the job, how often the queue's length is read again for the node's status
    /// (<see cref="TrainingJobOrchestration.QueueLengthActivityName"/>); zero = only at submission.</summary>
    public TimeSpan QueueLengthRefresh { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>True when <paramref name="node"/> runs as a job under these settings.</summary>
    public bool IsJob(PipelineNode node) =>
        node is not null && string.Equals(node.Definition.Pool, Pool, StringComparison.OrdinalIgnoreCase);
}

/// <summary>The input of the submit activity: one attempt of one node's job.</summary>
public sealed record TrainingJobRequest
{
    /// <summary>The job id: the node's execution id (stable across attempts, so a resubmitted job resumes the same
    /// execution and its checkpoint).</summary>
    public required string JobId { get; init; }

    /// <summary>1 for the first submission, then 2, 3, ... after timeouts.</summary>
    public required int Attempt { get; init; }

    /// <summary>The orchestration instance that waits for the events (the run id).</summary>
    public required string InstanceId { get; init; }

    /// <summary>The events the worker raises on that instance.</summary>
    public required TrainingJobEvents Events { get; init; }

    /// <summary>What the node runner runs.</summary>
    public required NodeRunRequest Request { get; init; }

    /// <summary>The queue message of the previous attempt, deleted (when nobody holds it) so a timed-out job is not run twice.</summary>
    public TrainingJobSubmission? Previous { get; init; }
}

/// <summary>The external event names of one node's job.</summary>
/// <param name="Started">A worker leased the job (raised again by a worker that resumes it).</param>
/// <param name="Completed">The node's <see cref="NodeRunResult"/>.</param>
/// <param name="Failed">The worker's error.</param>
public sealed record TrainingJobEvents(string Started, string Completed, string Failed)
{
    /// <summary>The names for <paramref name="nodeId"/>: <c>TrainingStarted-{node}</c>, <c>TrainingCompleted-{node}</c>, <c>TrainingFailed-{node}</c>.</summary>
    public static TrainingJobEvents For(string nodeId) => new($"TrainingStarted-{nodeId}", $"TrainingCompleted-{nodeId}", $"TrainingFailed-{nodeId}");
}

/// <summary>What the submit activity returns: the queue message (to delete it on resubmission) and the queue's length.</summary>
/// <param name="MessageId">The queue message id.</param>
/// <param name="PopReceipt">Its pop receipt at submission.</param>
/// <param name="QueueLength">The queue's approximate message count after the submission (this job included).</param>
public sealed record TrainingJobSubmission(string MessageId, string PopReceipt, int QueueLength);

/// <summary>The payload of every job event.</summary>
public sealed record TrainingJobEvent
{
    /// <summary>The job id (<see cref="TrainingJobRequest.JobId"/>); an event for another job is ignored.</summary>
    public string JobId { get; init; } = string.Empty;

    /// <summary>The attempt the worker ran.</summary>
    public int Attempt { get; init; }

    /// <summary>Who ran it (host and process id).</summary>
    public string? Worker { get; init; }

    /// <summary>How many times the queue handed the message out (a resumed job: more than 1).</summary>
    public int DequeueCount { get; init; }

    /// <summary>The node's result (<c>TrainingCompleted</c>).</summary>
    public NodeRunResult? Result { get; init; }

    /// <summary>The worker's error (<c>TrainingFailed</c>).</summary>
    public string? Error { get; init; }
}

/// <summary>Runs one node as a GPU job inside the pipeline orchestration (see <see cref="TrainingJobSettings"/>).</summary>
public static class TrainingJobOrchestration
{
    /// <summary>The activity that writes a job to the queue (implemented by the host that knows the queue).</summary>
    public const string SubmitActivityName = "SubmitTrainingJob";

    /// <summary>The activity that reads the job queue's approximate length (implemented by the host that knows the queue).</summary>
    public const string QueueLengthActivityName = "TrainingJobQueueLength";

    /// <summary>
    /// Submits <paramref name="request"/> as a job and waits for its end event, resubmitting after each timeout.
    /// <paramref name="update"/> receives the node's state changes: the state, a line for the status, the queue length while waiting.
    /// </summary>
    /// <returns>The node's result from <c>TrainingCompleted</c>.</returns>
    /// <exception cref="TaskFailedException">The worker reported a failure, every attempt timed out, or the submission
    /// failed; the message says which (the pipeline orchestrator shows it as the node's error).</exception>
    public static async Task<NodeRunResult> RunAsync(
        TaskOrchestrationContext context,
        TrainingJobSettings settings,
        PipelineNode node,
        NodeRunRequest request,
        Action<NodeState, string, int?> update)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(update);
        var attempts = Math.Max(1, node.Definition.Retry?.MaxAttempts ?? 1);
        var events = TrainingJobEvents.For(node.Id);
        Task<TrainingJobEvent> started = context.WaitForExternalEvent<TrainingJobEvent>(events.Started);
        Task<TrainingJobEvent> completed = context.WaitForExternalEvent<TrainingJobEvent>(events.Completed);
        Task<TrainingJobEvent> failed = context.WaitForExternalEvent<TrainingJobEvent>(events.Failed);
        TrainingJobSubmission? previous = null;
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            var job = new TrainingJobRequest { JobId = request.ExecutionId, Attempt = attempt, InstanceId = context.InstanceId, Events = events, Request = request, Previous = previous };
            previous = await context.CallActivityAsync<TrainingJobSubmission>(SubmitActivityName, job);
            void Waiting(int? length, string queue) =>
                update(NodeState.WaitingForGpuWorker, $"waiting for a GPU worker (attempt {attempt} of {attempts}; {queue})", length);
            Waiting(previous.QueueLength, $"{previous.QueueLength} job(s) in the queue");
            using var timeout = new CancellationTokenSource();
            var timer = context.CreateTimer(context.CurrentUtcDateTime + settings.Timeout, timeout.Token);
            // Until a worker takes the job, the queue's length is read again every QueueLengthRefresh (before the attempt's timeout).
            using var refreshing = new CancellationTokenSource();
            Task? refresh = null;
            void NextRefresh()
            {
                refresh = settings.QueueLengthRefresh > TimeSpan.Zero && settings.QueueLengthRefresh < settings.Timeout
                    ? context.CreateTimer(context.CurrentUtcDateTime + settings.QueueLengthRefresh, refreshing.Token)
                    : null;
            }

            NextRefresh();
            while (true)
            {
                var first = refresh is null ? await Task.WhenAny(started, completed, failed, timer) : await Task.WhenAny(started, completed, failed, timer, refresh);
                if (first == timer)
                {
                    refreshing.Cancel();
                    break;
                }

                if (first == refresh)
                {
                    // The length is only for the status: a queue that cannot be read now must not fail the job's wait.
                    try
                    {
                        var length = await context.CallActivityAsync<int>(QueueLengthActivityName, job.JobId);
                        Waiting(length, $"{length} job(s) in the queue");
                    }
                    catch (TaskFailedException unread)
                    {
                        Waiting(null, $"queue length not read: {unread.FailureDetails.ErrorMessage}");
                    }

                    NextRefresh();
                    continue;
                }

                var e = await (Task<TrainingJobEvent>)first;
                if (first == started)
                {
                    started = context.WaitForExternalEvent<TrainingJobEvent>(events.Started);
                    if (Current(e, request, attempt))
                    {
                        refreshing.Cancel();
                        refresh = null;
                        update(NodeState.Running, $"training on {e.Worker ?? "a GPU worker"} (attempt {e.Attempt}, delivery {e.DequeueCount})", null);
                    }

                    continue;
                }

                if (first == completed)
                {
                    completed = context.WaitForExternalEvent<TrainingJobEvent>(events.Completed);
                    if (e.JobId == request.ExecutionId && e.Result is { } result)
                    {
                        // Any attempt's result counts: every attempt runs the same execution id, recorded once.
                        timeout.Cancel();
                        refreshing.Cancel();
                        return result.Succeeded ? result : throw Failure(node, result.Error ?? $"the job ended {result.Status}");
                    }

                    continue;
                }

                failed = context.WaitForExternalEvent<TrainingJobEvent>(events.Failed);
                if (Current(e, request, attempt))
                {
                    timeout.Cancel();
                    refreshing.Cancel();
                    throw Failure(node, e.Error ?? "the GPU worker reported a failure without a message");
                }
            }
        }

        throw Failure(node, $"no GPU worker finished training job '{request.ExecutionId}' within {settings.Timeout} ({attempts} attempt(s); is a trainer app running on the job queue?)");
    }

    // A failure or start from an earlier (timed-out, resubmitted) attempt is stale: a newer attempt is in flight.
    private static bool Current(TrainingJobEvent e, NodeRunRequest request, int attempt) =>
        e.JobId == request.ExecutionId && e.Attempt >= attempt;

    private static TaskFailedException Failure(PipelineNode node, string message) =>
        new(SubmitActivityName, 0, new TaskFailureDetails("TrainingJobFailed", $"GPU job of node '{node.Id}': {message}", null, null, null));
}

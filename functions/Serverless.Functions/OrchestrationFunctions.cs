using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Serverless.Ml.Components.Tuner;
using Serverless.Pipelines;
using Serverless.Pipelines.Hosting;
using Serverless.Pipelines.Hosting.GpuJobs;
using Serverless.Pipelines.Orchestration;

namespace Serverless.Functions;

/// <summary>
/// The durable functions: the pipeline orchestrator (<see cref="PipelineOrchestrator"/>, the class the local host runs),
/// one activity function per ML component type, so each component shows as its own function in Azure's monitoring, the
/// generic node activity for any other component type (the built-ins, <c>componentAssemblies</c>), and the Tuner's trial
/// fan-out and trial activity. Every node activity runs <see cref="RunPipelineNodeActivity.RunNodeAsync"/> over the
/// runtime's node runner, as the local host's activities do.
/// </summary>
/// <remarks>
/// The activities bind a <c>[DurableClient]</c> too: the node runner's cancellation checks (a terminated run) and the
/// Tuner's trial runner use the durable client, which an isolated worker gets only through a binding.
/// </remarks>
public sealed class OrchestrationFunctions
{
    /// <summary>The component types with an activity function of their own here: the ML components
    /// (<see cref="Serverless.Ml.Components.MlComponents"/>, <see cref="Serverless.Ml.Components.ShippingComponents"/>).</summary>
    public static readonly IReadOnlyList<string> ComponentTypes =
    [
        "CsvExampleGen", "ImportExampleGen", "ImageExampleGen", "StatisticsGen", "SchemaGen", "ImportSchemaGen",
        "ExampleValidator", "Transform", "Tuner", "Trainer", "Evaluator", "InfraValidator", "Pusher",
    ];

    /// <summary>What the orchestrator calls each node as: <see cref="ComponentTypes"/> by name, the rest
    /// <see cref="RunPipelineNodeActivity.Name"/>.</summary>
    public static readonly ComponentActivities Activities = new(ComponentTypes);

    private readonly PipelineRuntime runtime;
    private readonly DurableClientBinding clients;
    private readonly IServiceProvider services;

    /// <summary>Created by the Functions worker with the app's services.</summary>
    /// <param name="runtime">The pipeline runtime.</param>
    /// <param name="clients">The durable client of the current invocation.</param>
    /// <param name="services">The app's services: the GPU job queue (<see cref="TrainingJobQueue"/>, registered when
    /// <c>trainerJobs</c> is configured) is created at the first job, so a bad queue setting fails jobs, not every function.</param>
    public OrchestrationFunctions(PipelineRuntime runtime, DurableClientBinding clients, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(clients);
        this.runtime = runtime;
        this.clients = clients;
        this.services = services ?? throw new ArgumentNullException(nameof(services));
    }

    /// <summary>The pipeline orchestrator: <see cref="PipelineOrchestrator"/> over the runtime's components and limits.</summary>
    [Function(PipelineOrchestrator.Name)]
    public Task<PipelineRunStatus> RunPipeline([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.GetInput<PipelineRunInput>() ?? throw new InvalidOperationException($"{PipelineOrchestrator.Name} was started without a PipelineRunInput");
        // With extensions.pipelines.trainerJobs, gpu-pool nodes are jobs for the trainer app (SubmitTrainingJob below).
        return new PipelineOrchestrator(runtime.Components, runtime.Options.Limits, Activities) { TrainingJobs = runtime.Options.TrainerJobs?.ToSettings() }
            .RunAsync(context, input);
    }

    /// <summary>The Tuner's trial fan-out: <see cref="TunerTrialsOrchestrator"/>.</summary>
    [Function(TunerTrials.OrchestratorName)]
    public Task<List<TrialResult>> RunTunerTrials([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.GetInput<TrialBatch>() ?? throw new InvalidOperationException($"{TunerTrials.OrchestratorName} was started without a TrialBatch");
        return new TunerTrialsOrchestrator().RunAsync(context, input);
    }

    /// <summary>One Tuner trial: <see cref="TunerTrials.RunTrialAsync"/> on the runtime's blob store.</summary>
    [Function(TunerTrials.ActivityName)]
    public Task<TrialResult> TunerTrial([ActivityTrigger] TrialRequest trial, [DurableClient] DurableTaskClient client)
    {
        clients.Use(client);
        return TunerTrials.RunTrialAsync(trial, runtime.Blobs);
    }

    /// <summary>A node of a component type without an activity of its own.</summary>
    [Function(RunPipelineNodeActivity.Name)]
    public Task<NodeRunResult> RunPipelineNode([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>A CsvExampleGen node.</summary>
    [Function("CsvExampleGen")]
    public Task<NodeRunResult> CsvExampleGen([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>An ImportExampleGen node.</summary>
    [Function("ImportExampleGen")]
    public Task<NodeRunResult> ImportExampleGen([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>An ImageExampleGen node.</summary>
    [Function("ImageExampleGen")]
    public Task<NodeRunResult> ImageExampleGen([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>A StatisticsGen node.</summary>
    [Function("StatisticsGen")]
    public Task<NodeRunResult> StatisticsGen([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>A SchemaGen node.</summary>
    [Function("SchemaGen")]
    public Task<NodeRunResult> SchemaGen([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>An ImportSchemaGen node.</summary>
    [Function("ImportSchemaGen")]
    public Task<NodeRunResult> ImportSchemaGen([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>An ExampleValidator node.</summary>
    [Function("ExampleValidator")]
    public Task<NodeRunResult> ExampleValidator([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>A Transform node.</summary>
    [Function("Transform")]
    public Task<NodeRunResult> Transform([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>A Tuner node (its trials run as <see cref="TunerTrial"/> activities).</summary>
    [Function("Tuner")]
    public Task<NodeRunResult> Tuner([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>A Trainer node.</summary>
    [Function("Trainer")]
    public Task<NodeRunResult> Trainer([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>An Evaluator node.</summary>
    [Function("Evaluator")]
    public Task<NodeRunResult> Evaluator([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>An InfraValidator node (starts the model server beside the app as a process).</summary>
    [Function("InfraValidator")]
    public Task<NodeRunResult> InfraValidator([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>A Pusher node.</summary>
    [Function("Pusher")]
    public Task<NodeRunResult> Pusher([ActivityTrigger] NodeRunRequest request, [DurableClient] DurableTaskClient client) => RunNodeAsync(request, client);

    /// <summary>
    /// Queues one attempt of a GPU job for the trainer app (<see cref="TrainingJobOrchestration.SubmitActivityName"/>): the
    /// callback is the instance's <c>sendEventPostUri</c> from the durable client, so the trainer app raises
    /// <c>TrainingStarted/Completed/Failed-{node}</c> through the Functions host with its system key.
    /// </summary>
    [Function(TrainingJobOrchestration.SubmitActivityName)]
    public Task<TrainingJobSubmission> SubmitTrainingJob([ActivityTrigger] TrainingJobRequest request, [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var queue = JobQueue(TrainingJobOrchestration.SubmitActivityName);
        var callback = client.CreateHttpManagementPayload(request.InstanceId).SendEventPostUri
            ?? throw new InvalidOperationException($"SubmitTrainingJob: the durable client gave no sendEventPostUri for '{request.InstanceId}'");
        return SubmitTrainingJobActivity.SubmitAsync(queue, callback, request);
    }

    /// <summary>The job queue's length while a job waits for a worker (<see cref="TrainingJobOrchestration.QueueLengthActivityName"/>).</summary>
    [Function(TrainingJobOrchestration.QueueLengthActivityName)]
    public Task<int> TrainingJobQueueLength([ActivityTrigger] string jobId) => JobQueue(TrainingJobOrchestration.QueueLengthActivityName).CountAsync();

    private TrainingJobQueue JobQueue(string function) => services.GetService(typeof(TrainingJobQueue)) as TrainingJobQueue ?? throw new InvalidOperationException(
        $"{function}: extensions.pipelines.trainerJobs is not configured in this app (host.json or the app settings AzureFunctionsJobHost__extensions__pipelines__trainerJobs__*)");

    private Task<NodeRunResult> RunNodeAsync(NodeRunRequest request, DurableTaskClient client)
    {
        clients.Use(client);
        return RunPipelineNodeActivity.RunNodeAsync(runtime.Runner, request);
    }
}

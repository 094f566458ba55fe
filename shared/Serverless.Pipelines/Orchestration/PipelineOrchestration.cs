using Microsoft.DurableTask;

namespace Serverless.Pipelines.Orchestration;

/// <summary>
/// Registers the pipeline orchestrator and its node activities with the Durable Task SDK's registry: one activity per
/// component type (named after the type, see <see cref="ComponentActivities"/>) and the generic
/// <see cref="RunPipelineNodeActivity.Name"/>, all running the same <see cref="NodeRunner"/> logic. Durable Functions has
/// no worker pools: every node runs in the worker that takes its activity, except the nodes of the GPU job pool when a job
/// queue is configured (<see cref="TrainingJobOrchestration"/>).
/// </summary>
public static class PipelineOrchestration
{
    /// <summary>
    /// Registers <see cref="PipelineOrchestrator"/> over the components <paramref name="components"/> returns (asked once
    /// per orchestrator instance, so a host may hand over a registry it builds after registration),
    /// <see cref="RunPipelineNodeActivity"/> under its own name, and the same activity once more under the name of each
    /// component type registered when the SDK builds its registry (the host's start); DI creates each with the host's
    /// <see cref="NodeRunner"/>.
    /// </summary>
    /// <remarks>
    /// The orchestrator is created by this factory rather than by the SDK's type registration: on the local runtime
    /// (Serverless.Hosting 1.28 shims on DTFx) a type-registered orchestrator whose constructor takes services never got
    /// its first turn (the instance stayed Pending, nothing logged), while the factory form runs. An Azure Functions app
    /// declares the orchestrator and one activity function per component type itself (functions/Serverless.Functions).
    /// A component type registered after the host started has no activity of its own: its nodes run as
    /// <see cref="RunPipelineNodeActivity.Name"/>.
    /// </remarks>
    /// <param name="registry">The SDK's registry.</param>
    /// <param name="components">The components, asked once per orchestrator instance.</param>
    /// <param name="limits">The host's limits; null: the defaults.</param>
    /// <param name="trainingJobs">The GPU job queue's settings (<see cref="PipelineOrchestrator.TrainingJobs"/>); null, or a
    /// function returning null: no job queue, every node is an activity. The host registers the submit activity itself.</param>
    public static DurableTaskRegistry AddPipelineOrchestration(this DurableTaskRegistry registry, Func<ComponentRegistry> components, Func<PipelineLimits?>? limits = null, Func<TrainingJobSettings?>? trainingJobs = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(components);
        // The SDK runs this registration when it builds the worker (the host's start), when the host's components exist.
        var activities = new ComponentActivities(components().Types);
        registry
            .AddOrchestrator(PipelineOrchestrator.Name, () => new PipelineOrchestrator(components(), limits?.Invoke(), activities) { TrainingJobs = trainingJobs?.Invoke() })
            .AddActivity<RunPipelineNodeActivity>(RunPipelineNodeActivity.Name);
        foreach (var type in activities.Types)
        {
            registry.AddActivity(type, typeof(RunPipelineNodeActivity));
        }

        return registry;
    }
}

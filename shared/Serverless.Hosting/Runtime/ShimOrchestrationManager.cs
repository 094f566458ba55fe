using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;

namespace Serverless.Hosting.Runtime;

/// <summary>
/// DTFx's orchestration lookup answered from the SDK's registry: each name resolves to the SDK class or function
/// registered in <see cref="DurableTaskRegistry"/>, wrapped by the SDK's own shim, so orchestrators see the same
/// <see cref="Microsoft.DurableTask.TaskOrchestrationContext"/> as in an isolated Durable Functions app. Unknown names get an orchestration
/// that fails at once (<see cref="UnknownTaskException"/>); DTFx would otherwise abandon the work item and retry it
/// every 10 seconds, forever.
/// </summary>
internal sealed class ShimOrchestrationManager(IDurableTaskFactory factory, DurableTaskShimFactory shims, IServiceProvider services)
    : INameVersionObjectManager<TaskOrchestration>
{
    /// <summary>Registrations come from the SDK registry, not from DTFx's <c>AddTaskOrchestrations</c>.</summary>
    public void Add(ObjectCreator<TaskOrchestration> creator) =>
        throw new NotSupportedException("Register orchestrators with Microsoft.DurableTask's DurableTaskRegistry (AddOrchestrator, AddOrchestratorFunc).");

    /// <summary>A fresh orchestrator per execution (DTFx keeps it for the life of an extended session).</summary>
    public TaskOrchestration GetObject(string name, string? version)
    {
        var taskName = new TaskName(name);
        ITaskOrchestrator orchestrator;
        try
        {
            orchestrator = factory.TryCreateOrchestrator(taskName, services, out var found) && found is not null
                ? found
                : new UnknownOrchestrator(name);
        }
        catch (Exception e) when (e is InvalidOperationException or MissingMethodException or ArgumentException or System.Reflection.TargetInvocationException)
        {
            // A constructor that throws, or needs a service nobody registered: DTFx would abandon the work item and retry
            // it forever with the instance Pending and nothing said; the instance fails with the reason instead.
            orchestrator = new FailingOrchestrator(new InvalidOperationException($"Could not create orchestrator '{name}': {e.Message}", e));
        }
        // The parent instance is not known here (DTFx asks by name only), so TaskOrchestrationContext.Parent is null.
        return shims.CreateOrchestration(taskName, orchestrator, parent: null);
    }

    /// <summary>Fails the instance with the error met while creating its orchestrator.</summary>
    private sealed class FailingOrchestrator(Exception error) : ITaskOrchestrator
    {
        public Type InputType => typeof(object);

        public Type OutputType => typeof(object);

        public Task<object?> RunAsync(TaskOrchestrationContext context, object? input) => Task.FromException<object?>(error);
    }

    /// <summary>Fails the instance with a message naming the orchestrator nobody registered.</summary>
    private sealed class UnknownOrchestrator(string name) : ITaskOrchestrator
    {
        public Type InputType => typeof(object);

        public Type OutputType => typeof(object);

        public Task<object?> RunAsync(TaskOrchestrationContext context, object? input) =>
            throw new UnknownTaskException("orchestrator", name);
    }
}

using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.DependencyInjection;

namespace Serverless.Hosting.Runtime;

/// <summary>
/// DTFx's activity lookup answered from the SDK's registry. Every name resolves (so DTFx never sees a missing type and
/// never backs off); the activity is created per execution in its own DI scope, as the SDK's own workers do, and an
/// unknown name fails the activity with <see cref="UnknownTaskException"/>, which the calling orchestration receives as
/// a <see cref="TaskFailedException"/>.
/// </summary>
internal sealed class ShimActivityManager(IDurableTaskFactory factory, DurableTaskShimFactory shims, IServiceProvider services)
    : INameVersionObjectManager<global::DurableTask.Core.TaskActivity>
{
    /// <summary>Registrations come from the SDK registry, not from DTFx's <c>AddTaskActivities</c>.</summary>
    public void Add(ObjectCreator<global::DurableTask.Core.TaskActivity> creator) =>
        throw new NotSupportedException("Register activities with Microsoft.DurableTask's DurableTaskRegistry (AddActivity, AddActivityFunc).");

    /// <inheritdoc/>
    public global::DurableTask.Core.TaskActivity GetObject(string name, string? version) => new ScopedActivity(new TaskName(name), factory, shims, services);

    /// <summary>Resolves the SDK activity inside a DI scope that lives exactly as long as one execution.</summary>
    private sealed class ScopedActivity(TaskName name, IDurableTaskFactory factory, DurableTaskShimFactory shims, IServiceProvider services)
        : global::DurableTask.Core.TaskActivity
    {
        public override string Run(TaskContext context, string input) =>
            throw new NotSupportedException("Activities run asynchronously (RunAsync).");

        public override async Task<string> RunAsync(TaskContext context, string input)
        {
            var scope = services.CreateAsyncScope();
            await using (scope.ConfigureAwait(false))
            {
                if (!factory.TryCreateActivity(name, scope.ServiceProvider, out var activity) || activity is null)
                    throw new UnknownTaskException("activity", name.Name);
                return await shims.CreateActivity(name, activity).RunAsync(context, input).ConfigureAwait(false);
            }
        }
    }
}

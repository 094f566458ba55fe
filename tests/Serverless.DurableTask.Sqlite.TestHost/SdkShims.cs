using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker.Shims;

namespace Serverless.DurableTask.Sqlite.Testing;

/// <summary>
/// Test-only registration of Microsoft.DurableTask SDK orchestrators and activities on DTFx's TaskHubWorker, through
/// the SDK's public shim factory (the hosting library of issue 11 does this for the product).
/// </summary>
public static class SdkShims
{
    /// <summary>An orchestrator function as a DTFx orchestration.</summary>
    public static ObjectCreator<TaskOrchestration> Orchestrator<TIn, TOut>(string name, Func<TaskOrchestrationContext, TIn?, Task<TOut?>> run) =>
        new Creator<TaskOrchestration>(name, () => DurableTaskShimFactory.Default.CreateOrchestration(name, run));

    /// <summary>An orchestrator class as a DTFx orchestration.</summary>
    public static ObjectCreator<TaskOrchestration> Orchestrator(string name, Func<ITaskOrchestrator> create) =>
        new Creator<TaskOrchestration>(name, () => DurableTaskShimFactory.Default.CreateOrchestration(name, create(), parent: null));

    /// <summary>An activity function as a DTFx activity.</summary>
    public static ObjectCreator<TaskActivity> Activity<TIn, TOut>(string name, Func<TaskActivityContext, TIn?, Task<TOut?>> run) =>
        new Creator<TaskActivity>(name, () => DurableTaskShimFactory.Default.CreateActivity(name, run));

    private sealed class Creator<T> : ObjectCreator<T>
    {
        private readonly Func<T> _create;

        public Creator(string name, Func<T> create)
        {
            Name = name;
            Version = string.Empty;
            _create = create;
        }

        public override T Create() => _create();
    }
}

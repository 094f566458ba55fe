using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Entities;

namespace Serverless.Functions;

/// <summary>
/// The <see cref="DurableTaskClient"/> the app's singletons hold (the <see cref="Serverless.Pipelines.Hosting.PipelineRuntime"/>,
/// its node runner's cancellation checks, the Tuner's trial runner): in an isolated Functions app the client exists only
/// as the <c>[DurableClient]</c> binding of an invocation (the host hands the worker its gRPC endpoint then), so every
/// function that may reach those singletons binds one and hands it over here (<see cref="Use"/>) before it calls in. Every
/// call is forwarded to the client handed over last; before any, calls throw, naming why.
/// </summary>
public sealed class DurableClientBinding : DurableTaskClient
{
    private DurableTaskClient? current;

    /// <summary>Creates the forwarder; no client yet.</summary>
    public DurableClientBinding()
        : base("DurableClientBinding")
    {
    }

    /// <summary>Whether a binding was handed over.</summary>
    public bool IsBound => Volatile.Read(ref current) is not null;

    /// <summary>Hands over the invocation's <c>[DurableClient]</c> binding (the same task hub every time); returns it.</summary>
    public DurableTaskClient Use(DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (!ReferenceEquals(client, this))
        {
            Volatile.Write(ref current, client);
        }

        return client;
    }

    private DurableTaskClient Client => Volatile.Read(ref current)
        ?? throw new InvalidOperationException("no [DurableClient] binding was handed over yet: a function that reaches the pipeline runtime must bind a DurableTaskClient and call DurableClientBinding.Use first");

    /// <inheritdoc/>
    public override DurableEntityClient Entities => Client.Entities;

    /// <inheritdoc/>
    public override Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default) =>
        Client.ScheduleNewOrchestrationInstanceAsync(orchestratorName, input, options, cancellation);

    /// <inheritdoc/>
    public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default) =>
        Client.RaiseEventAsync(instanceId, eventName, eventPayload, cancellation);

    /// <inheritdoc/>
    public override Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default) =>
        Client.TerminateInstanceAsync(instanceId, options, cancellation);

    /// <inheritdoc/>
    public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        Client.SuspendInstanceAsync(instanceId, reason, cancellation);

    /// <inheritdoc/>
    public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        Client.ResumeInstanceAsync(instanceId, reason, cancellation);

    /// <inheritdoc/>
    public override Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        Client.GetInstancesAsync(instanceId, getInputsAndOutputs, cancellation);

    /// <inheritdoc/>
    public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null) =>
        Client.GetAllInstancesAsync(filter);

    /// <inheritdoc/>
    public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        Client.WaitForInstanceStartAsync(instanceId, getInputsAndOutputs, cancellation);

    /// <inheritdoc/>
    public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs, cancellation);

    /// <inheritdoc/>
    public override Task<PurgeResult> PurgeInstanceAsync(string instanceId, PurgeInstanceOptions? options = null, CancellationToken cancellation = default) =>
        Client.PurgeInstanceAsync(instanceId, options, cancellation);

    /// <inheritdoc/>
    public override Task<PurgeResult> PurgeAllInstancesAsync(PurgeInstancesFilter filter, PurgeInstanceOptions? options = null, CancellationToken cancellation = default) =>
        Client.PurgeAllInstancesAsync(filter, options, cancellation);

    /// <inheritdoc/>
    public override Task<string> RestartAsync(string instanceId, bool restartWithNewInstanceId = false, CancellationToken cancellation = default) =>
        Client.RestartAsync(instanceId, restartWithNewInstanceId, cancellation);

    /// <inheritdoc/>
    public override ValueTask DisposeAsync() => default; // the bindings belong to the Functions worker
}

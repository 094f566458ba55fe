using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Serverless.Pipelines;

namespace Serverless.Pipelines.Hosting;

/// <summary>
/// The host's answer to "was this run canceled?": a cancellation recorded by the cancel route (metadata store, seen by every
/// process), or an orchestration instance that is gone (purged) or terminated (also through Durable Functions' management
/// API). Only what Durable Task's client also offers is used (<c>GetInstanceAsync</c>).
/// </summary>
public sealed class HostRunCancellation(MetadataRunCancellation records, DurableTaskClient client) : IRunCancellation
{
    /// <inheritdoc />
    public async Task<string?> GetCancellationAsync(string runId, string? incarnation, CancellationToken cancellation = default)
    {
        if (await records.GetCancellationAsync(runId, incarnation, cancellation).ConfigureAwait(false) is { } recorded)
        {
            return recorded;
        }

        var instance = await client.GetInstanceAsync(runId, cancellation: cancellation).ConfigureAwait(false);
        return instance switch
        {
            null => "the run's orchestration no longer exists (purged)",
            { RuntimeStatus: OrchestrationRuntimeStatus.Terminated } => "the run's orchestration was terminated",
            _ => null,
        };
    }
}

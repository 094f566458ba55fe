namespace Serverless.Pipelines;

/// <summary>
/// Tells the node activity whether its run was canceled. The durable runtime does not stop an activity when its
/// orchestration is terminated (neither does Durable Task's), so the cancel route records the cancellation where the
/// activity looks: the <see cref="NodeRunner"/> asks before the node starts and every poll interval while it runs, cancels
/// the executor's token when the answer is yes, and never starts the node of a canceled run again after a restart.
/// </summary>
public interface IRunCancellation
{
    /// <summary>Why the run was canceled, or null when it was not.</summary>
    /// <param name="runId">The run id (the orchestration instance id).</param>
    /// <param name="incarnation">The start of the run the node belongs to (<c>{runId}-{tag}</c>, see
    /// <see cref="MetadataRunCancellation.IncarnationOf"/>), or null when unknown.</param>
    /// <param name="cancellation">Stops the check.</param>
    Task<string?> GetCancellationAsync(string runId, string? incarnation, CancellationToken cancellation = default);
}

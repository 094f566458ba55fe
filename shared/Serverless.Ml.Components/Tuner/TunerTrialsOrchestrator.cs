using Microsoft.DurableTask;

namespace Serverless.Ml.Components.Tuner;

/// <summary>
/// Fans a batch of Tuner trials out as <see cref="TunerTrialActivity"/> calls with at most
/// <see cref="TrialBatch.Parallel"/> running at once, and returns their results in request order. The instance id is
/// the batch id, so a retried Tuner re-attaches to it and completed trials are not trained again.
/// </summary>
[DurableTask(TunerTrials.OrchestratorName)]
public sealed class TunerTrialsOrchestrator : TaskOrchestrator<TrialBatch, List<TrialResult>>
{
    /// <inheritdoc/>
    public override async Task<List<TrialResult>> RunAsync(TaskOrchestrationContext context, TrialBatch input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var results = new TrialResult[input.Trials.Count];
        var running = new Dictionary<Task<TrialResult>, int>();
        var next = 0;
        while (next < input.Trials.Count || running.Count > 0)
        {
            while (running.Count < Math.Max(1, input.Parallel) && next < input.Trials.Count)
            {
                running[context.CallActivityAsync<TrialResult>(TunerTrials.ActivityName, input.Trials[next])] = next;
                next++;
            }

            var done = await Task.WhenAny(running.Keys);
            results[running[done]] = await done;
            running.Remove(done);
        }

        return results.ToList();
    }
}

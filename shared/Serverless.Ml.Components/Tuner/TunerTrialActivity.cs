using Microsoft.DurableTask;
using Serverless.Storage;

namespace Serverless.Ml.Components.Tuner;

/// <summary>
/// Trains one Tuner trial (<see cref="TunerTrials.RunTrialAsync"/>) in the worker that takes it, reading the data from
/// the host's <see cref="IBlobStore"/> (a DI service). A diverged trial is a result, not a failure.
/// </summary>
[DurableTask(TunerTrials.ActivityName)]
public sealed class TunerTrialActivity : TaskActivity<TrialRequest, TrialResult>
{
    private readonly IBlobStore store;

    /// <summary>Creates the activity over the host's blob store.</summary>
    public TunerTrialActivity(IBlobStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        this.store = store;
    }

    /// <inheritdoc/>
    public override Task<TrialResult> RunAsync(TaskActivityContext context, TrialRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return TunerTrials.RunTrialAsync(input, store);
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Serverless.Ml.Components.Trainer;
using Serverless.Ml.Training.Compute;
using Serverless.Ml.Training.Training;
using Serverless.Storage;

namespace Serverless.Ml.Components.Tuner;

/// <summary>One trial: train with <see cref="Settings"/> for <see cref="Epochs"/> epochs and report the eval figures.</summary>
/// <param name="TrialId">The trial's id in the table, e.g. <c>t007</c>.</param>
/// <param name="Values">The sampled hyperparameters.</param>
/// <param name="Settings">The full settings (base parameters with <paramref name="Values"/> applied).</param>
/// <param name="Epochs">The budget.</param>
/// <param name="ExamplesUri">Blob prefix of the transformed examples artifact.</param>
/// <param name="TrainShards">Train shard paths inside it.</param>
/// <param name="EvalShards">Eval shard paths inside it.</param>
/// <param name="TransformGraphUri">Blob prefix of the transform graph artifact.</param>
public sealed record TrialRequest(
    string TrialId, HyperParameterValues Values, ModelSettings Settings, int Epochs,
    string ExamplesUri, IReadOnlyList<string> TrainShards, IReadOnlyList<string> EvalShards, string TransformGraphUri);

/// <summary>A trial's outcome; a diverged trial has <see cref="Error"/> set and no eval figures (JSON has no NaN).</summary>
/// <param name="TrialId">The trial id.</param>
/// <param name="EvalLoss">Eval loss after training.</param>
/// <param name="EvalMetric">Eval accuracy (classification) or RMSE (regression).</param>
/// <param name="Steps">Optimizer steps.</param>
/// <param name="WorkerPid">The process that ran it.</param>
/// <param name="Seconds">Wall time of the training.</param>
/// <param name="Error">Why it failed (e.g. NaN loss), or null.</param>
public sealed record TrialResult(string TrialId, double? EvalLoss, double? EvalMetric, long Steps, int WorkerPid, double Seconds, string? Error = null);

/// <summary>Runs a batch of trials, at most <c>parallel</c> at a time; results in request order.</summary>
public interface ITrialRunner
{
    /// <summary>Runs the trials of one batch.</summary>
    /// <param name="batchId">A stable id of the batch (execution id + rung): a retried Tuner re-attaches to the same batch.</param>
    /// <param name="trials">The trials.</param>
    /// <param name="parallel">At most this many at once.</param>
    /// <param name="store">The blob store of the executor (in-process runners read the data through it).</param>
    /// <param name="cancellation">Stops waiting.</param>
    Task<IReadOnlyList<TrialResult>> RunAsync(string batchId, IReadOnlyList<TrialRequest> trials, int parallel, IBlobStore store, CancellationToken cancellation = default);
}

/// <summary>Runs trials inside the Tuner's own activity, in parallel tasks (no worker pool involved).</summary>
public sealed class LocalTrialRunner : ITrialRunner
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<TrialResult>> RunAsync(string batchId, IReadOnlyList<TrialRequest> trials, int parallel, IBlobStore store, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(trials);
        var results = new TrialResult[trials.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, trials.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallel), CancellationToken = cancellation },
            async (i, ct) => results[i] = await TunerTrials.RunTrialAsync(trials[i], store, ct).ConfigureAwait(false)).ConfigureAwait(false);
        return results;
    }
}

/// <summary>
/// Runs each trial as a <see cref="TunerTrialActivity"/>: the Tuner's activity
/// starts one <see cref="TunerTrialsOrchestrator"/> orchestration per batch (instance id = the batch id, so a
/// retried Tuner re-attaches to it and completed trials are not run again), which fans the trials out with at most
/// <c>parallel</c> running, and waits for it.
/// </summary>
public sealed class DurableTrialRunner : ITrialRunner
{
    private readonly DurableTaskClient client;

    /// <summary>Creates the runner over the function app's client.</summary>
    public DurableTrialRunner(DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        this.client = client;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<TrialResult>> RunAsync(string batchId, IReadOnlyList<TrialRequest> trials, int parallel, IBlobStore store, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        ArgumentNullException.ThrowIfNull(trials);
        var existing = await client.GetInstanceAsync(batchId, getInputsAndOutputs: true, cancellation).ConfigureAwait(false);
        if (existing is null || existing.RuntimeStatus is OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated)
        {
            await client.ScheduleNewOrchestrationInstanceAsync(TunerTrials.OrchestratorName, new TrialBatch(trials, Math.Max(1, parallel)), new StartOrchestrationOptions(batchId), cancellation).ConfigureAwait(false);
        }

        OrchestrationMetadata done;
        try
        {
            done = await client.WaitForInstanceCompletionAsync(batchId, getInputsAndOutputs: true, cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // The run was canceled (or the Tuner's activity is stopping): its trials must not keep starting on other
            // workers, nor resume after a restart. Terminating the batch schedules no further trial; one already
            // training finishes and its result is dropped.
            await client.TerminateInstanceAsync(batchId, "the tuner that started these trials was canceled", CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
        {
            throw new InvalidOperationException($"tuner trials '{batchId}' ended {done.RuntimeStatus}: {done.FailureDetails?.ErrorMessage}");
        }

        return done.ReadOutputAs<List<TrialResult>>() ?? throw new InvalidDataException($"tuner trials '{batchId}' returned no results");
    }
}

/// <summary>The input of the trial fan-out orchestration.</summary>
/// <param name="Trials">The trials.</param>
/// <param name="Parallel">At most this many running at once.</param>
public sealed record TrialBatch(IReadOnlyList<TrialRequest> Trials, int Parallel);

/// <summary>
/// Registration of the trial fan-out (<see cref="TunerTrialsOrchestrator"/>) and the trial activity
/// (<see cref="TunerTrialActivity"/>), and the training of one trial.
/// </summary>
public static class TunerTrials
{
    /// <summary>The fan-out orchestration's name.</summary>
    public const string OrchestratorName = "TunerTrials";

    /// <summary>The trial activity's name.</summary>
    public const string ActivityName = "TunerTrial";

    private static readonly ConcurrentDictionary<string, Lazy<Task<LoadedData>>> Cache = new(StringComparer.Ordinal);

    /// <summary>Registers the fan-out orchestration and the trial activity; the activity gets the host's
    /// <see cref="IBlobStore"/> through DI.</summary>
    public static DurableTaskRegistry AddTunerTrials(this DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry
            .AddOrchestrator<TunerTrialsOrchestrator>(OrchestratorName)
            .AddActivity<TunerTrialActivity>(ActivityName);
    }

    /// <summary>Trains one trial (data cached per process) and reports its eval figures; a diverged trial is a result, not an error.</summary>
    public static async Task<TrialResult> RunTrialAsync(TrialRequest trial, IBlobStore store, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(trial);
        ArgumentNullException.ThrowIfNull(store);
        var key = $"{trial.ExamplesUri}|{trial.TransformGraphUri}";
        if (Cache.Count > 4)
        {
            Cache.Clear();
        }

        var lazy = Cache.GetOrAdd(key, _ => new Lazy<Task<LoadedData>>(() => LoadAsync(trial, store)));
        LoadedData data;
        try
        {
            data = await lazy.Value.ConfigureAwait(false);
        }
        catch
        {
            Cache.TryRemove(key, out _);
            throw;
        }

        var watch = Stopwatch.StartNew();
        try
        {
            // One thread per trial: trials run side by side.
            var run = await Task.Run(() => ModelTraining.Train(trial.Settings, data.Train, data.Eval, data.Label, null, trial.Epochs, cancellation, new CpuBackend(1)), cancellation).ConfigureAwait(false);
            return new TrialResult(trial.TrialId, Finite(run.Eval?.Loss), Finite(run.Eval?.Metric), run.Result.Steps, Environment.ProcessId, watch.Elapsed.TotalSeconds);
        }
        catch (TrainingDivergedException e)
        {
            return new TrialResult(trial.TrialId, null, null, e.Step, Environment.ProcessId, watch.Elapsed.TotalSeconds, e.Message);
        }
    }

    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;

    private static async Task<LoadedData> LoadAsync(TrialRequest trial, IBlobStore store)
    {
        var scratch = Directory.CreateTempSubdirectory("sml-tuner-").FullName; // private (0700), never a fixed shared folder
        try
        {
            Task<Stream> Examples(string path, CancellationToken ct) => store.OpenReadAsync($"{trial.ExamplesUri}/{path}", ct);
            Task<Stream> Graph(string path, CancellationToken ct) => store.OpenReadAsync($"{trial.TransformGraphUri}/{path}", ct);
            var label = LabelInfo.Of(await TrainingInputs.ReadTransformAsync(Graph, CancellationToken.None).ConfigureAwait(false));
            var train = await TrainingInputs.ReadSplitAsync(Examples, trial.TrainShards, label, scratch, CancellationToken.None).ConfigureAwait(false)
                ?? throw new InvalidDataException($"no train shards in '{trial.ExamplesUri}'");
            var eval = await TrainingInputs.ReadSplitAsync(Examples, trial.EvalShards, label, scratch, CancellationToken.None).ConfigureAwait(false)
                ?? throw new InvalidDataException($"no eval shards in '{trial.ExamplesUri}': the Tuner needs an eval split to score trials");
            return new LoadedData(train, eval, label);
        }
        finally
        {
            ArtifactFiles.DeleteScratch(scratch);
        }
    }

    private sealed record LoadedData(TrainingData Train, TrainingData Eval, LabelInfo Label);
}

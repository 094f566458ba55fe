using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Ml.Components.Trainer;
using Serverless.Ml.Training.Models;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.Tuner;

/// <summary>
/// Runs <see cref="TunerComponent"/>. The trials are a pure function of the parameters and the seed, so a retried
/// Tuner builds the same batches (ids <c>{executionId}-trials-{n}</c>) and a durable runner re-attaches to them.
/// Objective: eval accuracy (higher is better, ties to the lower eval loss) for classifiers, eval loss for
/// regressors. A trial that diverges is kept in the table with its error and never wins.
/// </summary>
public sealed class TunerExecutor : IComponentExecutor
{
    /// <summary>The trial table (JSON) inside a HyperParameters artifact.</summary>
    public const string TrialsPath = "trials.json";

    /// <summary>The trial table (CSV) inside a HyperParameters artifact.</summary>
    public const string TrialsCsvPath = "trials.csv";

    private readonly ITrialRunner runner;

    /// <summary>Creates the executor with a trial runner.</summary>
    public TunerExecutor(ITrialRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        this.runner = runner;
    }

    /// <inheritdoc />
    public async Task ExecuteAsync(
        IReadOnlyDictionary<string, InputArtifact> inputs,
        IReadOnlyDictionary<string, OutputArtifact> outputs,
        ComponentParameters parameters,
        ExecutorContext context,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(context);
        var algorithm = parameters.GetString("algorithm").ToLowerInvariant();
        if (algorithm is not ("random" or "hyperband"))
        {
            throw new ArgumentException($"parameter 'algorithm': '{algorithm}' is not random or hyperband");
        }

        var space = SearchSpace.Parse(parameters.GetString("learning_rate"), parameters.GetString("hidden_sizes"), parameters.GetString("dropout"), parameters.GetString("batch_size"));
        var seed = parameters.GetInt64("seed");
        var baseSettings = new ModelSettings
        {
            Model = parameters.GetString("model").ToLowerInvariant(),
            Activation = parameters.GetString("activation").ToLowerInvariant(),
            Optimizer = parameters.GetString("optimizer").ToLowerInvariant(),
            Seed = seed,
            CheckpointEverySteps = 0,
        };
        baseSettings.Validate();
        var maxEpochs = (int)Math.Clamp(parameters.GetInt64("max_epochs"), 1, 100_000);
        var parallel = (int)Math.Clamp(parameters.GetInt64("parallel_trials"), 1, 256);
        var examples = inputs["examples"];
        var graph = inputs["transform_graph"];
        var label = LabelInfo.Of(await TrainingInputs.ReadTransformAsync(graph.OpenReadAsync, cancellation).ConfigureAwait(false));
        var paths = examples.Files.Select(f => f.Path).ToList();
        var train = TrainingInputs.ShardsOf(paths, "train");
        var eval = TrainingInputs.ShardsOf(paths, "eval");
        if (train.Count == 0 || eval.Count == 0)
        {
            throw new InvalidDataException($"examples '{examples.Artifact.Uri}' need transformed 'train' and 'eval' splits (Transform's transformed_examples)");
        }

        var random = new Random(unchecked((int)seed));
        var number = 0;
        var batches = 0;
        var table = new List<TrialRow>();
        TrialRequest NewTrial(HyperParameterValues values, int epochs)
        {
            var settings = baseSettings.With(values);
            settings.Validate();
            return new TrialRequest(string.Create(CultureInfo.InvariantCulture, $"t{number++:D3}"), values, settings, epochs, examples.Artifact.Uri, train, eval, graph.Artifact.Uri);
        }

        async Task<IReadOnlyList<TrialRow>> RunBatchAsync(IReadOnlyList<TrialRequest> trials, int bracket, int rung)
        {
            var results = await runner.RunAsync(string.Create(CultureInfo.InvariantCulture, $"{context.ExecutionId}-trials-{batches++}"), trials, parallel, context.BlobStore, cancellation).ConfigureAwait(false);
            var rows = trials.Zip(results, (t, r) => new TrialRow(t.TrialId, bracket, rung, t.Epochs, t.Values, r)).ToList();
            table.AddRange(rows);
            return rows;
        }

        if (algorithm == "random")
        {
            var count = (int)Math.Clamp(parameters.GetInt64("max_trials"), 1, 10_000);
            await RunBatchAsync(Enumerable.Range(0, count).Select(_ => NewTrial(space.Sample(random), maxEpochs)).ToList(), 0, 0).ConfigureAwait(false);
        }
        else
        {
            var eta = (int)Math.Clamp(parameters.GetInt64("hyperband_eta"), 2, 100);
            var brackets = Hyperband.Brackets(maxEpochs, eta);
            for (var b = 0; b < brackets.Count; b++)
            {
                var configurations = Enumerable.Range(0, brackets[b].Configurations).Select(_ => space.Sample(random)).ToList();
                for (var r = 0; r < brackets[b].Rungs.Count && configurations.Count > 0; r++)
                {
                    var (keep, epochs) = brackets[b].Rungs[r];
                    var rows = await RunBatchAsync(configurations.Select(c => NewTrial(c, epochs)).ToList(), b, r).ConfigureAwait(false);
                    var next = r + 1 < brackets[b].Rungs.Count ? brackets[b].Rungs[r + 1].Keep : 0;
                    configurations = rows.Where(x => x.Result.Error is null).Order(Comparer(label.Task)).Take(Math.Min(next, Math.Max(1, keep / eta))).Select(x => x.Values).ToList();
                }
            }
        }

        var ranked = table.Where(x => x.Result.Error is null && x.Result.EvalLoss is not null).Order(Comparer(label.Task)).ToList();
        if (ranked.Count == 0)
        {
            throw new InvalidOperationException($"every one of the {table.Count} trials failed; first error: {table.FirstOrDefault()?.Result.Error}");
        }

        var best = ranked[0];
        var objective = label.Task == PredictionTask.Classification ? "eval_accuracy" : "eval_loss";
        var output = outputs["best_hyperparameters"];
        var json = new JsonSerializerOptions { WriteIndented = true };
        await output.WriteTextAsync(TrainerExecutor.HyperParametersPath, JsonSerializer.Serialize(new
        {
            values = best.Values,
            algorithm,
            objective,
            best_trial = best.TrialId,
            best_eval_loss = best.Result.EvalLoss,
            best_eval_metric = best.Result.EvalMetric,
            best_epochs = best.Epochs,
            trial_count = table.Count,
        }, json), cancellation).ConfigureAwait(false);
        await output.WriteTextAsync(TrialsPath, JsonSerializer.Serialize(table.Select(x => new
        {
            trial = x.TrialId, bracket = x.Bracket, rung = x.Rung, epochs = x.Epochs, values = x.Values,
            eval_loss = x.Result.EvalLoss, eval_metric = x.Result.EvalMetric, steps = x.Result.Steps,
            worker_pid = x.Result.WorkerPid, seconds = x.Result.Seconds, error = x.Result.Error,
        }), json), cancellation).ConfigureAwait(false);
        await output.WriteTextAsync(TrialsCsvPath, ToCsv(table), cancellation).ConfigureAwait(false);
        output.Properties["algorithm"] = algorithm;
        output.Properties["objective"] = objective;
        output.Properties["trial_count"] = (long)table.Count;
        output.Properties["best_trial"] = best.TrialId;
        output.Properties["best_" + (label.Task == PredictionTask.Classification ? "eval_accuracy" : "eval_rmse")] = best.Result.EvalMetric ?? double.NaN;
        output.Properties["best_eval_loss"] = best.Result.EvalLoss ?? double.NaN;
        output.Properties["trial_worker_pids"] = JsonSerializer.Serialize(table.Select(x => x.Result.WorkerPid).Distinct().Order());
    }

    private static IComparer<TrialRow> Comparer(PredictionTask task) => Comparer<TrialRow>.Create((a, b) =>
    {
        if (task == PredictionTask.Classification)
        {
            var byMetric = (b.Result.EvalMetric ?? double.MinValue).CompareTo(a.Result.EvalMetric ?? double.MinValue);
            if (byMetric != 0)
            {
                return byMetric;
            }
        }

        var byLoss = (a.Result.EvalLoss ?? double.MaxValue).CompareTo(b.Result.EvalLoss ?? double.MaxValue);
        return byLoss != 0 ? byLoss : string.CompareOrdinal(a.TrialId, b.TrialId);
    });

    private static string ToCsv(IEnumerable<TrialRow> rows)
    {
        var sb = new StringBuilder("trial,bracket,rung,epochs,learning_rate,hidden_sizes,dropout,batch_size,eval_loss,eval_metric,steps,worker_pid,seconds,error\n");
        foreach (var x in rows)
        {
            var v = x.Values;
            sb.Append(CultureInfo.InvariantCulture, $"{x.TrialId},{x.Bracket},{x.Rung},{x.Epochs},{v.LearningRate},\"{(v.HiddenSizes is null ? string.Empty : string.Join(',', v.HiddenSizes))}\",{v.Dropout},{v.BatchSize},")
              .Append(CultureInfo.InvariantCulture, $"{x.Result.EvalLoss},{x.Result.EvalMetric},{x.Result.Steps},{x.Result.WorkerPid},{x.Result.Seconds:F3},\"{x.Result.Error?.Replace("\"", "'", StringComparison.Ordinal)}\"\n");
        }

        return sb.ToString();
    }

    private sealed record TrialRow(string TrialId, int Bracket, int Rung, int Epochs, HyperParameterValues Values, TrialResult Result);
}

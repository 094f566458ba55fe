using Serverless.Ml.Training.Models;

namespace Serverless.Ml.Training.Training;

/// <summary>One mini-batch's outcome: the mean loss, the loss summed as the epoch curve adds it, and the metric sum.</summary>
/// <param name="Loss">Mean loss of the batch (what <see cref="TrainingProgress"/> reports).</param>
/// <param name="LossSum">The batch's contribution to the epoch's loss sum.</param>
/// <param name="MetricSum">Correct predictions (classification) or squared error (regression).</param>
internal readonly record struct BatchLoss(double Loss, double LossSum, double MetricSum);

/// <summary>
/// The engine-specific half of a training run (the managed network, a TorchSharp module): the math of one step, the
/// evaluation, and the tensors a checkpoint holds. <see cref="TrainingLoop"/> does the rest, the same for every engine.
/// </summary>
internal interface ITrainingSession : IDisposable
{
    /// <summary>The model's canonical architecture (checkpoints of another are refused).</summary>
    string Architecture { get; }

    /// <summary><c>adam</c> or <c>sgd</c>.</summary>
    string OptimizerKind { get; }

    /// <summary>The optimizer's step count (Adam's bias correction), saved in the checkpoint header.</summary>
    long OptimizerStep { get; }

    /// <summary>The weights early stopping keeps (name and length), in <see cref="SnapshotWeights"/> order.</summary>
    IReadOnlyList<(string Name, long Length)> Weights { get; }

    /// <summary>The row order of the epoch about to run (batch b holds rows [b * BatchSize, (b + 1) * BatchSize) of it).</summary>
    void BeginEpoch(int[] order);

    /// <summary>
    /// Trains on rows [<paramref name="start"/>, start + n) of the epoch's order as optimizer step
    /// <paramref name="step"/> + 1; calls <paramref name="requireFinite"/> with the loss before applying the update.
    /// </summary>
    BatchLoss Step(int start, int n, long step, Action<double> requireFinite);

    /// <summary>Loss and metric on <paramref name="data"/> in inference mode.</summary>
    Evaluation Evaluate(TrainingData data);

    /// <summary>Copies of the weights (see <see cref="Weights"/>).</summary>
    float[][] SnapshotWeights();

    /// <summary>Puts <paramref name="weights"/> (from <see cref="SnapshotWeights"/>) back.</summary>
    void LoadWeights(float[][] weights);

    /// <summary>Weights and optimizer state, by checkpoint name.</summary>
    IEnumerable<(string Name, float[] Values)> CheckpointTensors();

    /// <summary>Loads weights and optimizer state from a checkpoint's tensors (see <see cref="TrainingLoop.Take"/>).</summary>
    void Restore(string path, IReadOnlyDictionary<string, float[]> tensors, long optimizerStep);
}

/// <summary>
/// The run both trainers share: epochs of mini-batches in the (seed, epoch) order, MaxSteps, OnStep, per-epoch curves,
/// early stopping with the best weights, periodic checkpoints in one file format and exact resume from them.
/// </summary>
internal sealed class TrainingLoop(ITrainingSession session, TrainerOptions options, PredictionTask task, int outputs, string backend)
{
    private const ulong ShuffleStream = 2;

    private bool IsClassifier => task == PredictionTask.Classification;

    /// <summary>Runs (or resumes) the training; see <see cref="Trainer.Train"/>.</summary>
    public TrainingResult Run(TrainingData train, TrainingData? eval, CancellationToken cancellation)
    {
        var state = new State(IsClassifier ? "cross_entropy" : "mse", IsClassifier ? "accuracy" : "rmse");
        long? resumedFrom = null;
        string? lastCheckpoint = null;
        long? lastCheckpointStep = null;
        if (options.CheckpointPath is { } cp && File.Exists(cp))
        {
            Restore(cp, state);
            resumedFrom = lastCheckpointStep = state.Step;
            lastCheckpoint = cp;
            if (state.Completed) return Result(state, resumedFrom);
        }

        var bs = options.BatchSize;
        var batches = (train.Rows + bs - 1) / bs;
        var order = new int[train.Rows];
        var stopped = false;
        void RequireFinite(double loss)
        {
            if (!double.IsFinite(loss)) throw new TrainingDivergedException(state.Step + 1, state.Epoch, loss, lastCheckpoint, lastCheckpointStep);
        }

        while (state.Epoch < options.Epochs && !stopped)
        {
            FillOrder(order, options.Seed, state.Epoch, options.Shuffle);
            session.BeginEpoch(order);
            for (var b = state.BatchInEpoch; b < batches; b++)
            {
                cancellation.ThrowIfCancellationRequested();
                if (options.MaxSteps is { } max && state.Step >= max)
                {
                    stopped = true;
                    state.Reason = StopReason.MaxSteps;
                    break;
                }
                var n = Math.Min(bs, train.Rows - b * bs);
                var batch = session.Step(b * bs, n, state.Step, RequireFinite);
                state.Step++;
                state.BatchInEpoch = b + 1;
                state.EpochLossSum += batch.LossSum;
                state.EpochMetricSum += batch.MetricSum;
                state.EpochSamples += n;
                options.OnStep?.Invoke(new TrainingProgress(state.Step, state.Epoch, batch.Loss));
                if (options.CheckpointPath is { } path && options.CheckpointEverySteps > 0 && state.Step % options.CheckpointEverySteps == 0)
                {
                    Save(path, state);
                    lastCheckpoint = path;
                    lastCheckpointStep = state.Step;
                }
            }
            if (stopped) break;
            EndEpoch(state, eval);
            if (state.Reason == StopReason.EarlyStopped) stopped = true;
        }

        if (state.Reason != StopReason.MaxSteps) state.Completed = true;
        if (options.CheckpointPath is { } final) Save(final, state);
        return Result(state, resumedFrom);
    }

    /// <summary>Fills <paramref name="order"/> with epoch <paramref name="epoch"/>'s row order (see <see cref="Trainer.EpochOrder"/>).</summary>
    public static void FillOrder(int[] order, ulong seed, int epoch, bool shuffle)
    {
        for (var i = 0; i < order.Length; i++) order[i] = i;
        if (shuffle) DeterministicRandom.Derive(seed, ShuffleStream, (ulong)epoch).Shuffle(order);
    }

    /// <summary>A checkpoint tensor by name and length, or an error naming the file and the tensor.</summary>
    /// <exception cref="InvalidDataException">The tensor is missing or has another length.</exception>
    public static float[] Take(string path, IReadOnlyDictionary<string, float[]> tensors, string name, long length)
    {
        if (!tensors.TryGetValue(name, out var t) || t.Length != length)
            throw new InvalidDataException($"Checkpoint '{path}' lacks tensor '{name}' of length {length}.");
        return t;
    }

    /// <summary>
    /// Checks the splits before a run: each one's width against the model (features in; one label for a classifier,
    /// <paramref name="outputs"/> targets for a regressor), and an eval split when early stopping is on.
    /// </summary>
    /// <exception cref="ArgumentException">A width differs (the message says which, for the <paramref name="noun"/>: network, model), or early stopping lacks an eval split.</exception>
    public static void RequireData(TrainingData train, TrainingData? eval, TrainerOptions options, int inputs, int outputs, PredictionTask task, string noun)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        RequireShape(train, nameof(train), inputs, outputs, task, noun);
        if (eval != null) RequireShape(eval, nameof(eval), inputs, outputs, task, noun);
        if (options.EarlyStoppingPatience != null && eval is null)
            throw new ArgumentException("Early stopping needs an eval split.", nameof(eval));
    }

    private static void RequireShape(TrainingData data, string name, int inputs, int outputs, PredictionTask task, string noun)
    {
        if (data.FeatureCount != inputs)
            throw new ArgumentException($"The data has {data.FeatureCount} features per row, the {noun} takes {inputs}.", name);
        var width = task == PredictionTask.Classification ? 1 : outputs;
        if (data.TargetWidth != width)
            throw new ArgumentException($"The data has {data.TargetWidth} targets per row, the {noun} needs {width}.", name);
    }

    private void EndEpoch(State state, TrainingData? eval)
    {
        var samples = Math.Max(1, state.EpochSamples);
        var trainLoss = state.EpochLossSum / (IsClassifier ? samples : (double)samples * outputs);
        var trainMetric = IsClassifier ? state.EpochMetricSum / samples : Math.Sqrt(state.EpochMetricSum / ((double)samples * outputs));
        Evaluation? ev = eval is null ? null : session.Evaluate(eval);
        state.History.Add(new EpochRecord(state.Epoch + 1, state.Step, trainLoss, trainMetric, ev?.Loss, ev?.Metric));
        state.Epoch++;
        state.BatchInEpoch = 0;
        state.EpochLossSum = state.EpochMetricSum = 0;
        state.EpochSamples = 0;

        if (options.EarlyStoppingPatience is not { } patience || ev is not { } e) return;
        if (state.BestEvalLoss is null || e.Loss < state.BestEvalLoss.Value - options.EarlyStoppingMinDelta)
        {
            state.BestEvalLoss = e.Loss;
            state.BadEpochs = 0;
            state.BestWeights = session.SnapshotWeights();
            return;
        }
        if (++state.BadEpochs < patience) return;
        if (state.BestWeights is { } best) session.LoadWeights(best);
        state.Reason = StopReason.EarlyStopped;
    }

    private void Save(string path, State state)
    {
        var names = new List<TrainingCheckpoint.Tensor>();
        var tensors = new List<float[]>();
        void Add(string name, float[] values)
        {
            names.Add(new TrainingCheckpoint.Tensor(name, values.Length));
            tensors.Add(values);
        }
        foreach (var (name, values) in session.CheckpointTensors()) Add(name, values);
        if (state.BestWeights is { } best)
        {
            var weights = session.Weights;
            for (var i = 0; i < best.Length; i++) Add("best/" + weights[i].Name, best[i]);
        }
        var header = new TrainingCheckpoint.Header(TrainingCheckpoint.FormatVersionNumber, session.Architecture, session.OptimizerKind, options.Seed,
            options.BatchSize, state.Step, session.OptimizerStep, state.Epoch, state.BatchInEpoch, state.EpochLossSum, state.EpochMetricSum,
            state.EpochSamples, state.BestEvalLoss, state.BadEpochs, state.Completed, state.Reason, state.History.LossName,
            state.History.MetricName, state.History.Epochs, names);
        TrainingCheckpoint.Write(path, header, tensors);
    }

    private void Restore(string path, State state)
    {
        var (h, tensors) = TrainingCheckpoint.Read(path);
        void Require(bool ok, string what)
        {
            if (!ok) throw new InvalidOperationException($"Checkpoint '{path}' belongs to another run: {what}. Delete it or use another path.");
        }
        Require(h.Architecture == session.Architecture, $"architecture '{h.Architecture}', this model is '{session.Architecture}'");
        Require(h.Optimizer == session.OptimizerKind, $"optimizer {h.Optimizer}, this run uses {session.OptimizerKind}");
        Require(h.Seed == options.Seed, $"seed {h.Seed}, this run uses {options.Seed}");
        Require(h.BatchSize == options.BatchSize, $"batch size {h.BatchSize}, this run uses {options.BatchSize}");
        var byName = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Length; i++) byName[h.Tensors[i].Name] = tensors[i];
        session.Restore(path, byName, h.OptimizerStep);
        var weights = session.Weights;
        if (weights.Count > 0 && byName.ContainsKey("best/" + weights[0].Name))
            state.BestWeights = weights.Select(w => Take(path, byName, "best/" + w.Name, w.Length)).ToArray();
        state.Step = h.Step;
        state.Epoch = h.Epoch;
        state.BatchInEpoch = h.BatchInEpoch;
        state.EpochLossSum = h.EpochLossSum;
        state.EpochMetricSum = h.EpochMetricSum;
        state.EpochSamples = h.EpochSamples;
        state.BestEvalLoss = h.BestEvalLoss;
        state.BadEpochs = h.BadEpochs;
        state.Completed = h.Completed;
        state.Reason = h.Completed ? h.Reason : StopReason.Completed; // a MaxSteps stop is what a resume continues from
        state.History = new TrainingHistory(h.LossName, h.MetricName, h.History);
    }

    private TrainingResult Result(State state, long? resumedFrom) => new(state.Reason, state.Step, resumedFrom, state.History, backend);

    private sealed class State(string lossName, string metricName)
    {
        public long Step;
        public int Epoch;
        public int BatchInEpoch;
        public double EpochLossSum;
        public double EpochMetricSum;
        public long EpochSamples;
        public double? BestEvalLoss;
        public int BadEpochs;
        public float[][]? BestWeights;
        public bool Completed;
        public StopReason Reason = StopReason.Completed;
        public TrainingHistory History = new(lossName, metricName);
    }
}

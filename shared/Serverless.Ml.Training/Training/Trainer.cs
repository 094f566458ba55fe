using Serverless.Ml.Training.Compute;
using Serverless.Ml.Training.Models;

namespace Serverless.Ml.Training.Training;

/// <summary>
/// Trains a <see cref="NeuralNetwork"/> with mini-batches: shuffling, Adam or SGD with momentum, per-epoch curves,
/// early stopping on an eval split, periodic atomic checkpoints and exact resume.
/// </summary>
/// <remarks>
/// Determinism: the run is a pure function of (initial weights, data, options). Epoch e's row order comes from a
/// generator derived from (seed, e), step t's dropout masks from (seed, layer, t), and the backend's math is
/// bit-reproducible under any thread count. So a run resumed from the checkpoint of step t continues with exactly
/// the batches, masks and updates the uninterrupted run would have had, and ends with bit-identical weights.
/// Failure: a NaN or infinite loss throws <see cref="TrainingDivergedException"/> before the bad step is applied,
/// without touching the last checkpoint.
/// </remarks>
public sealed class Trainer
{
    private const ulong ShuffleStream = 2;
    private readonly NeuralNetwork _network;
    private readonly TrainerOptions _options;
    private readonly IComputeBackend _backend;

    /// <summary>Creates a trainer for <paramref name="network"/> (trained in place).</summary>
    public Trainer(NeuralNetwork network, TrainerOptions options, IComputeBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _network = network;
        _options = options;
        _backend = Backends.OrDefault(backend);
    }

    private bool IsClassifier => _network.Task == PredictionTask.Classification;

    /// <summary>
    /// Trains on <paramref name="train"/>, evaluating on <paramref name="eval"/> after every epoch when given.
    /// Resumes from <see cref="TrainerOptions.CheckpointPath"/> when that file exists (a completed run returns at once).
    /// </summary>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; resume from the last checkpoint.</exception>
    public TrainingResult Train(TrainingData train, TrainingData? eval = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        RequireShape(train, nameof(train));
        if (eval != null) RequireShape(eval, nameof(eval));
        if (_options.EarlyStoppingPatience != null && eval is null)
            throw new ArgumentException("Early stopping needs an eval split.", nameof(eval));

        var optimizer = new Optimizer(_options.Optimizer, _network.Parameters);
        var state = new State(IsClassifier ? "cross_entropy" : "mse", IsClassifier ? "accuracy" : "rmse");
        long? resumedFrom = null;
        string? lastCheckpoint = null;
        long? lastCheckpointStep = null;
        if (_options.CheckpointPath is { } cp && File.Exists(cp))
        {
            Restore(cp, optimizer, state);
            resumedFrom = state.Step;
            lastCheckpoint = cp;
            lastCheckpointStep = state.Step;
            if (state.Completed) return Result(state, resumedFrom);
        }

        var bs = _options.BatchSize;
        var inputs = _network.InputSize;
        var outputs = _network.OutputSize;
        var targetWidth = train.TargetWidth;
        var batches = (train.Rows + bs - 1) / bs;
        var order = new int[train.Rows];
        var x = new float[bs * inputs];
        var y = new float[bs * targetWidth];
        var probabilities = new float[bs * outputs];
        var gradient = new float[bs * outputs];
        var stopped = false;

        while (state.Epoch < _options.Epochs && !stopped)
        {
            FillOrder(order, state.Epoch);
            for (var b = state.BatchInEpoch; b < batches; b++)
            {
                cancellation.ThrowIfCancellationRequested();
                if (_options.MaxSteps is { } max && state.Step >= max)
                {
                    stopped = true;
                    state.Reason = StopReason.MaxSteps;
                    break;
                }
                var n = Math.Min(bs, train.Rows - b * bs);
                for (var r = 0; r < n; r++)
                {
                    var row = order[b * bs + r];
                    train.Features.AsSpan(row * inputs, inputs).CopyTo(x.AsSpan(r * inputs));
                    train.Targets.AsSpan(row * targetWidth, targetWidth).CopyTo(y.AsSpan(r * targetWidth));
                }
                var ctx = new PassContext(_backend, true, _options.Seed, state.Step);
                var output = _network.Forward(ctx, x.AsSpan(0, n * inputs), n);
                double lossSum, metricSum;
                if (IsClassifier)
                {
                    lossSum = Losses.SoftmaxCrossEntropy(_backend, output, y, n, outputs, probabilities, gradient, out var correct);
                    metricSum = correct;
                }
                else
                {
                    lossSum = Losses.SquaredError(output, y, n * outputs, gradient);
                    metricSum = lossSum;
                }
                var loss = lossSum / (IsClassifier ? n : (double)n * outputs);
                if (!double.IsFinite(loss))
                    throw new TrainingDivergedException(state.Step + 1, state.Epoch, loss, lastCheckpoint, lastCheckpointStep);
                _network.Backward(ctx, gradient.AsSpan(0, n * outputs), n);
                optimizer.Update(_backend);
                state.Step++;
                state.BatchInEpoch = b + 1;
                state.EpochLossSum += lossSum;
                state.EpochMetricSum += metricSum;
                state.EpochSamples += n;
                _options.OnStep?.Invoke(new TrainingProgress(state.Step, state.Epoch, loss));
                if (_options.CheckpointPath is { } path && _options.CheckpointEverySteps > 0 && state.Step % _options.CheckpointEverySteps == 0)
                {
                    Save(path, optimizer, state);
                    lastCheckpoint = path;
                    lastCheckpointStep = state.Step;
                }
            }
            if (stopped) break;
            EndEpoch(state, eval);
            if (state.Reason == StopReason.EarlyStopped) stopped = true;
        }

        if (state.Reason != StopReason.MaxSteps) state.Completed = true;
        if (_options.CheckpointPath is { } final) Save(final, optimizer, state);
        return Result(state, resumedFrom);
    }

    /// <summary>Mean loss and metric of <paramref name="network"/> on <paramref name="data"/> (inference mode).</summary>
    public static Evaluation Evaluate(NeuralNetwork network, TrainingData data, IComputeBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        var be = Backends.OrDefault(backend);
        var classifier = network.Task == PredictionTask.Classification;
        var outputs = network.OutputSize;
        const int chunk = 512;
        var probabilities = new float[chunk * outputs];
        double lossSum = 0, metricSum = 0;
        var ctx = new PassContext(be, false, 0, 0);
        for (var start = 0; start < data.Rows; start += chunk)
        {
            var n = Math.Min(chunk, data.Rows - start);
            var output = network.Forward(ctx, data.Features.AsSpan(start * network.InputSize, n * network.InputSize), n);
            var targets = data.Targets.AsSpan(start * data.TargetWidth, n * data.TargetWidth);
            if (classifier)
            {
                lossSum += Losses.SoftmaxCrossEntropy(be, output, targets, n, outputs, probabilities, default, out var correct);
                metricSum += correct;
            }
            else
            {
                var se = Losses.SquaredError(output, targets, n * outputs, default);
                lossSum += se;
                metricSum += se;
            }
        }
        return classifier
            ? new Evaluation(lossSum / data.Rows, metricSum / data.Rows)
            : new Evaluation(lossSum / ((double)data.Rows * outputs), Math.Sqrt(metricSum / ((double)data.Rows * outputs)));
    }

    private void EndEpoch(State state, TrainingData? eval)
    {
        var samples = Math.Max(1, state.EpochSamples);
        var trainLoss = state.EpochLossSum / (IsClassifier ? samples : (double)samples * _network.OutputSize);
        var trainMetric = IsClassifier ? state.EpochMetricSum / samples : Math.Sqrt(state.EpochMetricSum / ((double)samples * _network.OutputSize));
        Evaluation? ev = eval is null ? null : Evaluate(_network, eval, _backend);
        state.History.Add(new EpochRecord(state.Epoch + 1, state.Step, trainLoss, trainMetric, ev?.Loss, ev?.Metric));
        state.Epoch++;
        state.BatchInEpoch = 0;
        state.EpochLossSum = state.EpochMetricSum = 0;
        state.EpochSamples = 0;

        if (_options.EarlyStoppingPatience is not { } patience || ev is not { } e) return;
        if (state.BestEvalLoss is null || e.Loss < state.BestEvalLoss.Value - _options.EarlyStoppingMinDelta)
        {
            state.BestEvalLoss = e.Loss;
            state.BadEpochs = 0;
            state.BestWeights = _network.Parameters.Select(p => (float[])p.Value.Clone()).ToArray();
            return;
        }
        if (++state.BadEpochs < patience) return;
        if (state.BestWeights is { } best)
            for (var i = 0; i < best.Length; i++) best[i].CopyTo(_network.Parameters[i].Value, 0);
        state.Reason = StopReason.EarlyStopped;
    }

    /// <summary>
    /// The row order of epoch <paramref name="epoch"/> (0-based) in a shuffled run with <paramref name="seed"/>: batch b
    /// holds rows [b * BatchSize, (b + 1) * BatchSize) of it. Public so another framework can replay exactly the batches
    /// this trainer sees (the benchmark trains PyTorch from our initial weights in our order to compare step by step).
    /// </summary>
    public static int[] EpochOrder(int rows, ulong seed, int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = new int[rows];
        FillOrder(order, seed, epoch, shuffle: true);
        return order;
    }

    private void FillOrder(int[] order, int epoch) => FillOrder(order, _options.Seed, epoch, _options.Shuffle);

    private static void FillOrder(int[] order, ulong seed, int epoch, bool shuffle)
    {
        for (var i = 0; i < order.Length; i++) order[i] = i;
        if (shuffle) DeterministicRandom.Derive(seed, ShuffleStream, (ulong)epoch).Shuffle(order);
    }

    private void Save(string path, Optimizer optimizer, State state)
    {
        var names = new List<TrainingCheckpoint.Tensor>();
        var tensors = new List<float[]>();
        foreach (var p in _network.Parameters) Add(p.Name, p.Value);
        foreach (var (name, values) in optimizer.State) Add(name, values);
        if (state.BestWeights is { } best)
            for (var i = 0; i < best.Length; i++) Add("best/" + _network.Parameters[i].Name, best[i]);
        var header = new TrainingCheckpoint.Header(TrainingCheckpoint.FormatVersionNumber, _network.Architecture, optimizer.Kind, _options.Seed,
            _options.BatchSize, state.Step, optimizer.Step, state.Epoch, state.BatchInEpoch, state.EpochLossSum, state.EpochMetricSum,
            state.EpochSamples, state.BestEvalLoss, state.BadEpochs, state.Completed, state.Reason, state.History.LossName,
            state.History.MetricName, state.History.Epochs, names);
        TrainingCheckpoint.Write(path, header, tensors);

        void Add(string name, float[] values)
        {
            names.Add(new TrainingCheckpoint.Tensor(name, values.Length));
            tensors.Add(values);
        }
    }

    private void Restore(string path, Optimizer optimizer, State state)
    {
        var (h, tensors) = TrainingCheckpoint.Read(path);
        void Require(bool ok, string what)
        {
            if (!ok) throw new InvalidOperationException($"Checkpoint '{path}' belongs to another run: {what}. Delete it or use another path.");
        }
        Require(h.Architecture == _network.Architecture, $"architecture '{h.Architecture}', this network is '{_network.Architecture}'");
        Require(h.Optimizer == optimizer.Kind, $"optimizer {h.Optimizer}, this run uses {optimizer.Kind}");
        Require(h.Seed == _options.Seed, $"seed {h.Seed}, this run uses {_options.Seed}");
        Require(h.BatchSize == _options.BatchSize, $"batch size {h.BatchSize}, this run uses {_options.BatchSize}");
        var byName = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Length; i++) byName[h.Tensors[i].Name] = tensors[i];
        float[] Take(string name, int length)
        {
            if (!byName.TryGetValue(name, out var t) || t.Length != length)
                throw new InvalidDataException($"Checkpoint '{path}' lacks tensor '{name}' of length {length}.");
            return t;
        }
        foreach (var p in _network.Parameters) Take(p.Name, p.Value.Length).CopyTo(p.Value, 0);
        foreach (var (name, values) in optimizer.State) Take(name, values.Length).CopyTo(values, 0);
        if (byName.ContainsKey("best/" + _network.Parameters[0].Name))
            state.BestWeights = _network.Parameters.Select(p => Take("best/" + p.Name, p.Value.Length)).ToArray();
        optimizer.Step = h.OptimizerStep;
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

    private TrainingResult Result(State state, long? resumedFrom) =>
        new(state.Reason, state.Step, resumedFrom, state.History, _backend.Name);

    private void RequireShape(TrainingData data, string name)
    {
        if (data.FeatureCount != _network.InputSize)
            throw new ArgumentException($"The data has {data.FeatureCount} features per row, the network takes {_network.InputSize}.", name);
        var width = IsClassifier ? 1 : _network.OutputSize;
        if (data.TargetWidth != width)
            throw new ArgumentException($"The data has {data.TargetWidth} targets per row, the network needs {width}.", name);
    }

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

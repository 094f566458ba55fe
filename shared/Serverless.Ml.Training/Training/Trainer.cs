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

    /// <summary>
    /// Trains on <paramref name="train"/>, evaluating on <paramref name="eval"/> after every epoch when given.
    /// Resumes from <see cref="TrainerOptions.CheckpointPath"/> when that file exists (a completed run returns at once).
    /// </summary>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; resume from the last checkpoint.</exception>
    public TrainingResult Train(TrainingData train, TrainingData? eval = null, CancellationToken cancellation = default)
    {
        TrainingLoop.RequireData(train, eval, _options, _network.InputSize, _network.OutputSize, _network.Task, "network");

        using var session = new Session(_network, _options, _backend, train);
        return new TrainingLoop(session, _options, _network.Task, _network.OutputSize, _backend.Name).Run(train, eval, cancellation);
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
        TrainingLoop.FillOrder(order, seed, epoch, shuffle: true);
        return order;
    }

    /// <summary>The managed math of a run: batches copied in the epoch's order, forward, loss, backward, optimizer.</summary>
    private sealed class Session(NeuralNetwork network, TrainerOptions options, IComputeBackend backend, TrainingData train) : ITrainingSession
    {
        private readonly Optimizer _optimizer = new(options.Optimizer, network.Parameters);
        private readonly float[] _x = new float[options.BatchSize * network.InputSize];
        private readonly float[] _y = new float[options.BatchSize * train.TargetWidth];
        private readonly float[] _probabilities = new float[options.BatchSize * network.OutputSize];
        private readonly float[] _gradient = new float[options.BatchSize * network.OutputSize];
        private int[] _order = [];

        public string Architecture => network.Architecture;

        public string OptimizerKind => _optimizer.Kind;

        public long OptimizerStep => _optimizer.Step;

        public IReadOnlyList<(string Name, long Length)> Weights => network.Parameters.Select(p => (p.Name, (long)p.Value.Length)).ToList();

        public void BeginEpoch(int[] order) => _order = order;

        public BatchLoss Step(int start, int n, long step, Action<double> requireFinite)
        {
            var inputs = network.InputSize;
            var outputs = network.OutputSize;
            var targetWidth = train.TargetWidth;
            for (var r = 0; r < n; r++)
            {
                var row = _order[start + r];
                train.Features.AsSpan(row * inputs, inputs).CopyTo(_x.AsSpan(r * inputs));
                train.Targets.AsSpan(row * targetWidth, targetWidth).CopyTo(_y.AsSpan(r * targetWidth));
            }
            var ctx = new PassContext(backend, true, options.Seed, step);
            var output = network.Forward(ctx, _x.AsSpan(0, n * inputs), n);
            double lossSum, metricSum;
            var classifier = network.Task == PredictionTask.Classification;
            if (classifier)
            {
                lossSum = Losses.SoftmaxCrossEntropy(backend, output, _y, n, outputs, _probabilities, _gradient, out var correct);
                metricSum = correct;
            }
            else
            {
                lossSum = Losses.SquaredError(output, _y, n * outputs, _gradient);
                metricSum = lossSum;
            }
            var loss = lossSum / (classifier ? n : (double)n * outputs);
            requireFinite(loss);
            network.Backward(ctx, _gradient.AsSpan(0, n * outputs), n);
            _optimizer.Update(backend);
            return new BatchLoss(loss, lossSum, metricSum);
        }

        public Evaluation Evaluate(TrainingData data) => Trainer.Evaluate(network, data, backend);

        public float[][] SnapshotWeights() => network.Parameters.Select(p => (float[])p.Value.Clone()).ToArray();

        public void LoadWeights(float[][] weights)
        {
            for (var i = 0; i < weights.Length; i++) weights[i].CopyTo(network.Parameters[i].Value, 0);
        }

        public IEnumerable<(string Name, float[] Values)> CheckpointTensors() =>
            network.Parameters.Select(p => (p.Name, p.Value)).Concat(_optimizer.State);

        public void Restore(string path, IReadOnlyDictionary<string, float[]> tensors, long optimizerStep)
        {
            foreach (var p in network.Parameters) TrainingLoop.Take(path, tensors, p.Name, p.Value.Length).CopyTo(p.Value, 0);
            foreach (var (name, values) in _optimizer.State) TrainingLoop.Take(path, tensors, name, values.Length).CopyTo(values, 0);
            _optimizer.Step = optimizerStep;
        }

        public void Dispose()
        {
        }
    }
}

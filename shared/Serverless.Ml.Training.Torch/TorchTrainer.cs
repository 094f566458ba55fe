using System.Globalization;
using Serverless.Ml.Training.Models;
using Serverless.Ml.Training.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Serverless.Ml.Training.Torch;

/// <summary>
/// Trains a <see cref="TorchModel"/> with the managed <see cref="Trainer"/>'s contract: the same
/// <see cref="TrainerOptions"/> (Adam or SGD with momentum, mini-batches, early stopping, checkpoints, MaxSteps,
/// OnStep), the same batch order (<see cref="Trainer.EpochOrder"/>), the same <see cref="TrainingResult"/> and
/// <see cref="TrainingHistory"/> curves (the ModelRun artifact), and the same checkpoint file format, on the CPU or a
/// CUDA device.
/// </summary>
/// <remarks>
/// Exact resume: epoch e's row order is derived from (seed, e); before step t libtorch's generator is seeded from
/// (seed, t), so dropout masks depend on the step alone; a checkpoint holds parameters, buffers (batch-norm
/// statistics), the optimizer's moments and step, the epoch's position and running sums. A run resumed from step t's
/// checkpoint therefore repeats exactly the losses of the uninterrupted run (tested), as long as libtorch's kernels
/// are deterministic on the device (they are on the CPU). libtorch has one process-wide generator, so seeding it and the
/// forward pass that draws from it run under a process-wide lock: trainings running at the same time in one process
/// (parallel tuner trials) keep their own masks, at the price of taking turns for forward passes.
/// Failure: a NaN or infinite mini-batch loss throws <see cref="TrainingDivergedException"/> before the step is applied.
/// </remarks>
public sealed class TorchTrainer
{
    private const ulong DropoutStream = 1000;
    private readonly TorchModel _model;
    private readonly TrainerOptions _options;

    /// <summary>Creates a trainer for <paramref name="model"/> (trained in place, moved to the resolved device).</summary>
    /// <exception cref="InvalidOperationException"><paramref name="device"/> is CUDA and there is no GPU.</exception>
    public TorchTrainer(TorchModel model, TrainerOptions options, TorchDeviceKind device = TorchDeviceKind.Auto)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        _options = options;
        Device = TorchDevices.Resolve(device);
    }

    /// <summary>The device training runs on.</summary>
    public Device Device { get; }

    /// <summary>The backend name reported in <see cref="TrainingResult.Backend"/>: <c>torchsharp-cpu</c> or <c>torchsharp-cuda</c>.</summary>
    public string BackendName => "torchsharp-" + Device.type.ToString().ToLowerInvariant();

    private bool IsClassifier => _model.Task == PredictionTask.Classification;

    /// <summary>
    /// Trains on <paramref name="train"/>, evaluating on <paramref name="eval"/> after every epoch when given. Resumes from
    /// <see cref="TrainerOptions.CheckpointPath"/> when that file exists (a completed run returns at once).
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
        RequireLogits();

        _model.MoveTo(Device);
        _model.Module.train();
        var parameters = _model.Module.named_parameters().ToList();
        using var optimizer = CreateOptimizer(parameters.Select(p => p.parameter));
        var state = new State(IsClassifier ? "cross_entropy" : "mse", IsClassifier ? "accuracy" : "rmse");
        long? resumedFrom = null;
        string? lastCheckpoint = null;
        long? lastCheckpointStep = null;
        if (_options.CheckpointPath is { } cp && File.Exists(cp))
        {
            Restore(cp, optimizer, state);
            resumedFrom = lastCheckpointStep = state.Step;
            lastCheckpoint = cp;
            if (state.Completed) return Result(state, resumedFrom);
        }

        var bs = _options.BatchSize;
        var batches = (train.Rows + bs - 1) / bs;
        using var x = Features(train);
        using var y = Targets(train);
        var stopped = false;
        while (state.Epoch < _options.Epochs && !stopped)
        {
            using var order = tensor(EpochOrder(train.Rows, state.Epoch), device: Device);
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
                double loss, metricSum;
                using (NewDisposeScope())
                {
                    var rows = order.narrow(0, (long)b * bs, n);
                    var xb = x.index_select(0, rows);
                    var yb = y.index_select(0, rows);
                    optimizer.zero_grad();
                    Tensor output;
                    lock (TorchRuntime.RandomGate)
                    {
                        random.manual_seed(StepSeed(state.Step));
                        output = _model.Forward(xb);
                    }
                    var lossTensor = IsClassifier ? nn.functional.cross_entropy(output, yb) : nn.functional.mse_loss(output, yb);
                    loss = lossTensor.item<float>();
                    if (!double.IsFinite(loss))
                        throw new TrainingDivergedException(state.Step + 1, state.Epoch, loss, lastCheckpoint, lastCheckpointStep);
                    lossTensor.backward();
                    optimizer.step();
                    metricSum = IsClassifier ? output.argmax(1).eq(yb).sum().item<long>() : loss * n * _model.OutputSize;
                }
                state.Step++;
                state.BatchInEpoch = b + 1;
                state.EpochLossSum += IsClassifier ? loss * n : loss * n * _model.OutputSize;
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

    /// <summary>Mean loss and metric (accuracy or RMSE) of <paramref name="model"/> on <paramref name="data"/>, in eval mode.</summary>
    public static Evaluation Evaluate(TorchModel model, TrainingData data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var classifier = model.Task == PredictionTask.Classification;
        if (data.FeatureCount != model.InputSize)
            throw new ArgumentException($"The data has {data.FeatureCount} features per row, the model takes {model.InputSize}.", nameof(data));
        var outputs = model.OutputSize;
        var inputs = model.InputSize;
        var width = data.TargetWidth;
        double lossSum = 0, metricSum = 0;
        var wasTraining = model.Module.training;
        model.Module.eval();
        try
        {
            using var noGrad = no_grad();
            const int chunk = 512;
            for (var start = 0; start < data.Rows; start += chunk)
            {
                var n = Math.Min(chunk, data.Rows - start);
                using var scope = NewDisposeScope();
                var x = tensor(data.Features.AsSpan(start * inputs, n * inputs).ToArray(), [n, inputs]).to(model.Device);
                var output = model.Forward(x);
                var targets = data.Targets.AsSpan(start * width, n * width);
                if (classifier)
                {
                    var y = tensor(Labels(targets, outputs, start, nameof(data)), device: model.Device);
                    lossSum += nn.functional.cross_entropy(output, y, reduction: nn.Reduction.Sum).item<float>();
                    metricSum += output.argmax(1).eq(y).sum().item<long>();
                }
                else
                {
                    var y = tensor(targets.ToArray(), [n, width]).to(model.Device);
                    var se = nn.functional.mse_loss(output, y, reduction: nn.Reduction.Sum).item<float>();
                    lossSum += se;
                    metricSum += se;
                }
            }
        }
        finally
        {
            model.Module.train(wasTraining);
        }
        return classifier
            ? new Evaluation(lossSum / data.Rows, metricSum / data.Rows)
            : new Evaluation(lossSum / ((double)data.Rows * outputs), Math.Sqrt(metricSum / ((double)data.Rows * outputs)));
    }

    private void EndEpoch(State state, TrainingData? eval)
    {
        var samples = Math.Max(1, state.EpochSamples);
        var outputs = _model.OutputSize;
        var trainLoss = state.EpochLossSum / (IsClassifier ? samples : (double)samples * outputs);
        var trainMetric = IsClassifier ? state.EpochMetricSum / samples : Math.Sqrt(state.EpochMetricSum / ((double)samples * outputs));
        Evaluation? ev = eval is null ? null : Evaluate(_model, eval);
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
            state.BestWeights = ModelTensors().Select(t => ToArray(t.Tensor)).ToArray();
            return;
        }
        if (++state.BadEpochs < patience) return;
        if (state.BestWeights is { } best)
        {
            var tensors = ModelTensors();
            for (var i = 0; i < best.Length; i++) CopyInto(tensors[i].Tensor, best[i]);
        }
        state.Reason = StopReason.EarlyStopped;
    }

    /// <summary>Parameters then buffers (batch-norm statistics), each with its checkpoint name.</summary>
    private List<(string Name, Tensor Tensor)> ModelTensors() =>
        [
            .. _model.Module.named_parameters().Select(p => (p.name, (Tensor)p.parameter)),
            .. _model.Module.named_buffers().Select(b => ("buffer/" + b.name, b.buffer)),
        ];

    private optim.Optimizer CreateOptimizer(IEnumerable<TorchSharp.Modules.Parameter> parameters) => _options.Optimizer switch
    {
        AdamOptions adam => optim.Adam(parameters, Exact(adam.LearningRate), Exact(adam.Beta1), Exact(adam.Beta2), Exact(adam.Epsilon)),
        SgdOptions sgd => optim.SGD(parameters, Exact(sgd.LearningRate), Exact(sgd.Momentum)),
        _ => throw new NotSupportedException($"Unknown optimizer {_options.Optimizer.GetType().Name}."),
    };

    private string OptimizerKind => _options.Optimizer is AdamOptions ? "adam" : "sgd";

    /// <summary>The optimizer's per-parameter state tensors with checkpoint names (Adam: m, v; SGD: velocity once it exists).</summary>
    private List<(string Name, Func<Tensor?> Get, Action<Tensor> Set)> OptimizerTensors(optim.Optimizer optimizer)
    {
        var names = _model.Module.named_parameters().Select(p => p.name).ToList();
        var states = ((OptimizerHelper)optimizer).state_dict().State;
        if (states.Count != names.Count) throw new InvalidOperationException($"The optimizer holds {states.Count} states for {names.Count} parameters.");
        var result = new List<(string, Func<Tensor?>, Action<Tensor>)>();
        for (var i = 0; i < names.Count; i++)
        {
            switch (states[i])
            {
                case Adam.State a:
                    result.Add(($"optimizer.m/{names[i]}", () => a.exp_avg, t => a.exp_avg.copy_(t)));
                    result.Add(($"optimizer.v/{names[i]}", () => a.exp_avg_sq, t => a.exp_avg_sq.copy_(t)));
                    break;
                case SGD.State s:
                    result.Add(($"optimizer.velocity/{names[i]}", () => s.momentum_buffer, t =>
                    {
                        if (s.momentum_buffer is null) s.momentum_buffer = t.clone().DetachFromDisposeScope();
                        else s.momentum_buffer.copy_(t);
                    }));
                    break;
                default:
                    throw new NotSupportedException($"Optimizer state {states[i].GetType().Name}.");
            }
        }
        return result;
    }

    private static long OptimizerStep(optim.Optimizer optimizer) =>
        ((OptimizerHelper)optimizer).state_dict().State.OfType<Adam.State>().Select(s => s.step).FirstOrDefault();

    private void Save(string path, optim.Optimizer optimizer, State state)
    {
        var names = new List<TrainingCheckpoint.Tensor>();
        var tensors = new List<float[]>();
        void Add(string name, float[] values)
        {
            names.Add(new TrainingCheckpoint.Tensor(name, values.Length));
            tensors.Add(values);
        }
        var model = ModelTensors();
        foreach (var (name, t) in model) Add(name, ToArray(t));
        foreach (var (name, get, _) in OptimizerTensors(optimizer))
            if (get() is { } t) Add(name, ToArray(t));
        if (state.BestWeights is { } best)
            for (var i = 0; i < best.Length; i++) Add("best/" + model[i].Name, best[i]);
        var header = new TrainingCheckpoint.Header(TrainingCheckpoint.FormatVersionNumber, _model.Architecture, OptimizerKind, _options.Seed,
            _options.BatchSize, state.Step, OptimizerStep(optimizer), state.Epoch, state.BatchInEpoch, state.EpochLossSum, state.EpochMetricSum,
            state.EpochSamples, state.BestEvalLoss, state.BadEpochs, state.Completed, state.Reason, state.History.LossName,
            state.History.MetricName, state.History.Epochs, names);
        TrainingCheckpoint.Write(path, header, tensors);
    }

    private void Restore(string path, optim.Optimizer optimizer, State state)
    {
        var (h, tensors) = TrainingCheckpoint.Read(path);
        void Require(bool ok, string what)
        {
            if (!ok) throw new InvalidOperationException($"Checkpoint '{path}' belongs to another run: {what}. Delete it or use another path.");
        }
        Require(h.Architecture == _model.Architecture, $"architecture '{h.Architecture}', this model is '{_model.Architecture}'");
        Require(h.Optimizer == OptimizerKind, $"optimizer {h.Optimizer}, this run uses {OptimizerKind}");
        Require(h.Seed == _options.Seed, $"seed {h.Seed}, this run uses {_options.Seed}");
        Require(h.BatchSize == _options.BatchSize, $"batch size {h.BatchSize}, this run uses {_options.BatchSize}");
        var byName = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Length; i++) byName[h.Tensors[i].Name] = tensors[i];
        float[] Take(string name, long length)
        {
            if (!byName.TryGetValue(name, out var t) || t.Length != length)
                throw new InvalidDataException($"Checkpoint '{path}' lacks tensor '{name}' of length {length}.");
            return t;
        }
        var model = ModelTensors();
        foreach (var (name, t) in model) CopyInto(t, Take(name, t.numel()));
        foreach (var (name, get, set) in OptimizerTensors(optimizer))
        {
            if (!byName.TryGetValue(name, out var values)) continue; // SGD's velocity before the first step
            var like = get() ?? model.First(m => name.EndsWith("/" + m.Name, StringComparison.Ordinal)).Tensor;
            if (values.Length != like.numel()) throw new InvalidDataException($"Checkpoint '{path}' has tensor '{name}' of length {values.Length}, expected {like.numel()}.");
            using var source = tensor(values, like.shape).to(like.device);
            using (no_grad()) set(source);
        }
        foreach (var s in ((OptimizerHelper)optimizer).state_dict().State.OfType<Adam.State>()) s.step = h.OptimizerStep;
        if (byName.ContainsKey("best/" + model[0].Name))
            state.BestWeights = model.Select(m => Take("best/" + m.Name, m.Tensor.numel())).ToArray();
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

    private TrainingResult Result(State state, long? resumedFrom) => new(state.Reason, state.Step, resumedFrom, state.History, BackendName);

    private long[] EpochOrder(int rows, int epoch) =>
        _options.Shuffle
            ? Trainer.EpochOrder(rows, _options.Seed, epoch).Select(i => (long)i).ToArray()
            : Enumerable.Range(0, rows).Select(i => (long)i).ToArray();

    private long StepSeed(long step)
    {
        var rng = DeterministicRandom.Derive(_options.Seed, DropoutStream, (ulong)step);
        return (long)(((ulong)rng.NextUInt32() << 31) ^ rng.NextUInt32());
    }

    private Tensor Features(TrainingData data) => tensor(data.Features, [data.Rows, data.FeatureCount]).to(Device);

    private Tensor Targets(TrainingData data) => IsClassifier
        ? tensor(Labels(data.Targets, _model.OutputSize, 0, "train"), device: Device)
        : tensor(data.Targets, [data.Rows, data.TargetWidth]).to(Device);

    private static long[] Labels(ReadOnlySpan<float> targets, int classes, int firstRow, string split)
    {
        var labels = new long[targets.Length];
        for (var r = 0; r < targets.Length; r++)
        {
            var label = (long)targets[r];
            if (label != targets[r] || label < 0 || label >= classes)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{split} row {firstRow + r}: label {targets[r]} is not a class index in [0, {classes})."));
            labels[r] = label;
        }
        return labels;
    }

    private void RequireShape(TrainingData data, string name)
    {
        if (data.FeatureCount != _model.InputSize)
            throw new ArgumentException($"The data has {data.FeatureCount} features per row, the model takes {_model.InputSize}.", name);
        var width = IsClassifier ? 1 : _model.OutputSize;
        if (data.TargetWidth != width)
            throw new ArgumentException($"The data has {data.TargetWidth} targets per row, the model needs {width}.", name);
    }

    private void RequireLogits()
    {
        if (!IsClassifier || _model.Module is not Sequential sequential || sequential.Count == 0) return;
        var last = sequential.named_children().Last();
        if (last.module is Softmax or LogSoftmax)
        {
            throw new ArgumentException(
                $"The classifier's last layer '{last.name}' is {last.module.GetType().Name}: a classifier must output logits " +
                "(training applies cross-entropy, which includes the softmax, and the ONNX export appends Softmax).");
        }
    }

    private static float[] ToArray(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
    }

    private static void CopyInto(Tensor target, float[] values)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        target.copy_(tensor(values, target.shape).to(target.dtype).to(target.device));
    }

    /// <summary>The decimal value a float setting was written as (0.9f -> 0.9), so hyper-parameters equal PyTorch's doubles.</summary>
    private static double Exact(float value) => double.Parse(value.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

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

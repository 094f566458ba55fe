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
        TrainingLoop.RequireData(train, eval, _options, _model.InputSize, _model.OutputSize, _model.Task, "model");
        RequireLogits();

        _model.MoveTo(Device);
        _model.Module.train();
        using var session = new Session(this, train);
        return new TrainingLoop(session, _options, _model.Task, _model.OutputSize, BackendName).Run(train, eval, cancellation);
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

    /// <summary>The libtorch math of a run: the data and optimizer on the device, batches by index, seeded forward passes.</summary>
    private sealed class Session : ITrainingSession
    {
        private readonly TorchTrainer _owner;
        private readonly optim.Optimizer _optimizer;
        private readonly Tensor _x;
        private readonly Tensor _y;
        private Tensor? _order;

        public Session(TorchTrainer owner, TrainingData train)
        {
            _owner = owner;
            _optimizer = owner.CreateOptimizer(owner._model.Module.named_parameters().Select(p => p.parameter).ToList());
            _x = owner.Features(train);
            _y = owner.Targets(train);
        }

        private TorchModel Model => _owner._model;

        public string Architecture => Model.Architecture;

        public string OptimizerKind => _owner.OptimizerKind;

        public long OptimizerStep => ((OptimizerHelper)_optimizer).state_dict().State.OfType<Adam.State>().Select(s => s.step).FirstOrDefault();

        public IReadOnlyList<(string Name, long Length)> Weights => _owner.ModelTensors().Select(t => (t.Name, t.Tensor.numel())).ToList();

        public void BeginEpoch(int[] order)
        {
            _order?.Dispose();
            _order = tensor(order.Select(i => (long)i).ToArray(), device: _owner.Device);
        }

        public BatchLoss Step(int start, int n, long step, Action<double> requireFinite)
        {
            double loss, metricSum;
            using (NewDisposeScope())
            {
                var rows = _order!.narrow(0, start, n);
                var xb = _x.index_select(0, rows);
                var yb = _y.index_select(0, rows);
                _optimizer.zero_grad();
                Tensor output;
                lock (TorchRuntime.RandomGate)
                {
                    random.manual_seed(_owner.StepSeed(step));
                    output = Model.Forward(xb);
                }
                var lossTensor = _owner.IsClassifier ? nn.functional.cross_entropy(output, yb) : nn.functional.mse_loss(output, yb);
                loss = lossTensor.item<float>();
                requireFinite(loss);
                lossTensor.backward();
                _optimizer.step();
                metricSum = _owner.IsClassifier ? output.argmax(1).eq(yb).sum().item<long>() : loss * n * Model.OutputSize;
            }
            return new BatchLoss(loss, _owner.IsClassifier ? loss * n : loss * n * Model.OutputSize, metricSum);
        }

        public Evaluation Evaluate(TrainingData data) => TorchTrainer.Evaluate(Model, data);

        public float[][] SnapshotWeights() => _owner.ModelTensors().Select(t => ToArray(t.Tensor)).ToArray();

        public void LoadWeights(float[][] weights)
        {
            var tensors = _owner.ModelTensors();
            for (var i = 0; i < weights.Length; i++) CopyInto(tensors[i].Tensor, weights[i]);
        }

        public IEnumerable<(string Name, float[] Values)> CheckpointTensors()
        {
            var result = _owner.ModelTensors().Select(t => (t.Name, ToArray(t.Tensor))).ToList();
            foreach (var (name, get, _) in _owner.OptimizerTensors(_optimizer))
                if (get() is { } t) result.Add((name, ToArray(t)));
            return result;
        }

        public void Restore(string path, IReadOnlyDictionary<string, float[]> tensors, long optimizerStep)
        {
            var model = _owner.ModelTensors();
            foreach (var (name, t) in model) CopyInto(t, TrainingLoop.Take(path, tensors, name, t.numel()));
            foreach (var (name, get, set) in _owner.OptimizerTensors(_optimizer))
            {
                if (!tensors.TryGetValue(name, out var values)) continue; // SGD's velocity before the first step
                var like = get() ?? model.First(m => name.EndsWith("/" + m.Name, StringComparison.Ordinal)).Tensor;
                if (values.Length != like.numel()) throw new InvalidDataException($"Checkpoint '{path}' has tensor '{name}' of length {values.Length}, expected {like.numel()}.");
                using var source = tensor(values, like.shape).to(like.device);
                using (no_grad()) set(source);
            }
            foreach (var s in ((OptimizerHelper)_optimizer).state_dict().State.OfType<Adam.State>()) s.step = optimizerStep;
        }

        public void Dispose()
        {
            _order?.Dispose();
            _x.Dispose();
            _y.Dispose();
            _optimizer.Dispose();
        }
    }
}

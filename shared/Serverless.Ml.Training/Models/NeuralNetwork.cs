using System.Globalization;
using Serverless.Ml.Training.Compute;

namespace Serverless.Ml.Training.Models;

/// <summary>
/// A sequential network (MLP or small CNN) with its parameters and the buffers of one pass. Inputs are flat rows
/// ([rows, features]; images as [rows, C*H*W] in NCHW order). Not thread-safe: one pass at a time per instance
/// (the trainer owns it while training).
/// </summary>
public sealed class NeuralNetwork
{
    private readonly Layer[] _layers;
    private float[][] _activations = [];
    private float[][] _gradients = [];
    private int _capacity;

    private NeuralNetwork(Layer[] layers, PredictionTask task, string architecture, MlpOptions? mlp, ConvNetOptions? conv)
    {
        _layers = layers;
        Task = task;
        Architecture = architecture;
        Mlp = mlp;
        ConvNet = conv;
        Parameters = layers.SelectMany(l => l.Parameters).ToArray();
    }

    /// <summary>Classification (softmax probabilities out) or regression (values out).</summary>
    public PredictionTask Task { get; }

    /// <summary>Features per row.</summary>
    public int InputSize => _layers[0].InputSize;

    /// <summary>Classes or target values per row.</summary>
    public int OutputSize => _layers[^1].OutputSize;

    /// <summary>A canonical description of the layers; checkpoints refuse to load into another architecture.</summary>
    public string Architecture { get; }

    /// <summary>The options this network was made from, when it is an MLP.</summary>
    public MlpOptions? Mlp { get; }

    /// <summary>The options this network was made from, when it is a CNN.</summary>
    public ConvNetOptions? ConvNet { get; }

    /// <summary>All trainable tensors, in a fixed order.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount => Parameters.Sum(p => (long)p.Value.Length);

    internal IReadOnlyList<Layer> Layers => _layers;

    /// <summary>Builds an MLP with weights drawn from <paramref name="seed"/> (PyTorch's default initialisation).</summary>
    public static NeuralNetwork CreateMlp(MlpOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.InputSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.OutputSize);
        ArgumentNullException.ThrowIfNull(options.HiddenSizes);
        RequireDropout(options.Dropout);
        if (options.HiddenSizes.Any(h => h <= 0)) throw new ArgumentException("Hidden sizes must be positive.", nameof(options));
        if (options.Task == PredictionTask.Classification && options.OutputSize < 2)
            throw new ArgumentException("A classifier needs at least two classes.", nameof(options));

        var rng = DeterministicRandom.Derive(seed, 1, 0);
        var layers = new List<Layer>();
        var width = options.InputSize;
        var dense = 0;
        foreach (var hidden in options.HiddenSizes)
        {
            layers.Add(new DenseLayer($"dense{dense++}", width, hidden, rng));
            layers.Add(new ActivationLayer(options.Activation, hidden));
            if (options.Dropout > 0) layers.Add(new DropoutLayer(options.Dropout, hidden, layers.Count));
            width = hidden;
        }
        layers.Add(new DenseLayer($"dense{dense}", width, options.OutputSize, rng));
        var arch = string.Create(CultureInfo.InvariantCulture,
            $"mlp:{options.InputSize}-{string.Join('-', options.HiddenSizes)}-{options.OutputSize}:{options.Activation}:dropout={options.Dropout}:{options.Task}");
        return new NeuralNetwork([.. layers], options.Task, arch, options, null);
    }

    /// <summary>Builds a CNN classifier with weights drawn from <paramref name="seed"/>.</summary>
    public static NeuralNetwork CreateConvNet(ConvNetOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Width);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Classes, 2);
        ArgumentNullException.ThrowIfNull(options.ConvChannels);
        ArgumentNullException.ThrowIfNull(options.HiddenSizes);
        RequireDropout(options.Dropout);
        if (options.KernelSize <= 0 || options.KernelSize % 2 == 0) throw new ArgumentException("The kernel size must be odd and positive.", nameof(options));
        if (options.ConvChannels.Count == 0 || options.ConvChannels.Any(c => c <= 0)) throw new ArgumentException("Give at least one positive conv channel count.", nameof(options));

        var rng = DeterministicRandom.Derive(seed, 1, 0);
        var layers = new List<Layer>();
        int c = options.Channels, h = options.Height, w = options.Width;
        for (var i = 0; i < options.ConvChannels.Count; i++)
        {
            if (h < 2 || w < 2) throw new ArgumentException("Too many conv blocks for the image size: pooling would leave nothing.", nameof(options));
            var m = options.ConvChannels[i];
            layers.Add(new Conv2dLayer($"conv{i}", c, h, w, m, options.KernelSize, rng));
            layers.Add(new ActivationLayer(Activation.Relu, m * h * w));
            var pool = new MaxPool2dLayer(m, h, w, 2);
            layers.Add(pool);
            (c, h, w) = (m, pool.OutH, pool.OutW);
        }
        var width = c * h * w;
        var dense = 0;
        foreach (var hidden in options.HiddenSizes)
        {
            layers.Add(new DenseLayer($"dense{dense++}", width, hidden, rng));
            layers.Add(new ActivationLayer(Activation.Relu, hidden));
            width = hidden;
        }
        if (options.Dropout > 0) layers.Add(new DropoutLayer(options.Dropout, width, layers.Count));
        layers.Add(new DenseLayer($"dense{dense}", width, options.Classes, rng));
        var arch = string.Create(CultureInfo.InvariantCulture,
            $"cnn:{options.Channels}x{options.Height}x{options.Width}:conv={string.Join('-', options.ConvChannels)}:k={options.KernelSize}:dense={string.Join('-', options.HiddenSizes)}-{options.Classes}:dropout={options.Dropout}");
        return new NeuralNetwork([.. layers], PredictionTask.Classification, arch, null, options);
    }

    /// <summary>
    /// Inference: class probabilities (classification) or values (regression), [rows, OutputSize]. Dropout is off.
    /// </summary>
    public float[] Predict(ReadOnlySpan<float> features, int rows, IComputeBackend? backend = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (features.Length != rows * InputSize)
            throw new ArgumentException($"Expected {rows} x {InputSize} = {rows * InputSize} features, got {features.Length}.", nameof(features));
        var result = new float[rows * OutputSize];
        var ctx = new PassContext(backend ?? CpuBackend.Default, false, 0, 0);
        const int chunk = 512;
        for (var start = 0; start < rows; start += chunk)
        {
            var n = Math.Min(chunk, rows - start);
            var output = Forward(ctx, features.Slice(start * InputSize, n * InputSize), n);
            var dst = result.AsSpan(start * OutputSize, n * OutputSize);
            if (Task == PredictionTask.Classification) ctx.Backend.SoftmaxRows(output, n, OutputSize, dst);
            else output.CopyTo(dst);
        }
        return result;
    }

    /// <summary>Forward pass; returns the last layer's raw output (logits or values), valid until the next pass.</summary>
    internal ReadOnlySpan<float> Forward(in PassContext ctx, ReadOnlySpan<float> input, int batch)
    {
        EnsureCapacity(batch);
        input.CopyTo(_activations[0]);
        for (var i = 0; i < _layers.Length; i++)
        {
            var layer = _layers[i];
            layer.Forward(ctx, _activations[i].AsSpan(0, batch * layer.InputSize), _activations[i + 1].AsSpan(0, batch * layer.OutputSize), batch);
        }
        return _activations[^1].AsSpan(0, batch * OutputSize);
    }

    /// <summary>
    /// Backward pass after <see cref="Forward"/> with the same batch; fills every parameter's gradient, and
    /// <paramref name="inputGradient"/> when it is not empty (gradient checks).
    /// </summary>
    internal void Backward(in PassContext ctx, ReadOnlySpan<float> outputGradient, int batch, Span<float> inputGradient = default)
    {
        outputGradient.CopyTo(_gradients[^1]);
        for (var i = _layers.Length - 1; i >= 0; i--)
        {
            var layer = _layers[i];
            var dIn = i > 0 ? _gradients[i].AsSpan(0, batch * layer.InputSize) : inputGradient;
            layer.Backward(ctx, _activations[i].AsSpan(0, batch * layer.InputSize), _activations[i + 1].AsSpan(0, batch * layer.OutputSize),
                _gradients[i + 1].AsSpan(0, batch * layer.OutputSize), dIn, batch);
        }
    }

    private void EnsureCapacity(int batch)
    {
        if (batch <= _capacity) return;
        _activations = new float[_layers.Length + 1][];
        _gradients = new float[_layers.Length + 1][];
        _activations[0] = new float[batch * InputSize];
        _gradients[0] = [];
        for (var i = 0; i < _layers.Length; i++)
        {
            _activations[i + 1] = new float[batch * _layers[i].OutputSize];
            _gradients[i + 1] = new float[batch * _layers[i].OutputSize];
        }
        _capacity = batch;
    }

    private static void RequireDropout(float rate)
    {
        if (!(rate >= 0 && rate < 1)) throw new ArgumentOutOfRangeException(nameof(rate), rate, "Dropout must be in [0, 1).");
    }
}

using System.Globalization;
using Serverless.Ml.Training.Compute;
using Serverless.Ml.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Serverless.Ml.Training.Torch;

/// <summary>
/// A TorchSharp module with what training and export need to know about it: the per-example input shape, the output
/// size, the task and a canonical architecture string (checkpoints refuse another). The TorchSharp counterpart of
/// <see cref="NeuralNetwork"/>. Inputs arrive as flat rows (a Transform graph's <c>[batch, n]</c> output) and are
/// reshaped to <c>[batch, ..InputShape]</c> before the module sees them. Not thread-safe; dispose to free native memory.
/// </summary>
public sealed class TorchModel : IDisposable
{
    private readonly int[] _inputShape;

    private TorchModel(nn.Module<Tensor, Tensor> module, IReadOnlyList<int> inputShape, int outputSize, PredictionTask task, string architecture)
    {
        Module = module;
        _inputShape = [.. inputShape];
        OutputSize = outputSize;
        Task = task;
        Architecture = architecture;
        Device = CPU;
    }

    /// <summary>The module; its parameters are trained in place.</summary>
    public nn.Module<Tensor, Tensor> Module { get; }

    /// <summary>Shape of one example as the module receives it.</summary>
    public IReadOnlyList<int> InputShape => _inputShape;

    /// <summary>Features per flat input row (the product of <see cref="InputShape"/>).</summary>
    public int InputSize => _inputShape.Aggregate(1, (a, b) => checked(a * b));

    /// <summary>Classes or target values per row.</summary>
    public int OutputSize { get; }

    /// <summary>Classification (logits out of the module) or regression.</summary>
    public PredictionTask Task { get; }

    /// <summary>A canonical description (<c>torch:</c> + the managed architecture for built-ins, <c>user:</c> type, hash and shapes for user models).</summary>
    public string Architecture { get; }

    /// <summary>The device the module's parameters live on.</summary>
    public Device Device { get; private set; }

    /// <summary>
    /// The built-in MLP of <see cref="NeuralNetwork.CreateMlp"/> as a TorchSharp <c>Sequential</c>, with the same layers,
    /// parameter names and initial weights for the same seed, so both engines start from the same point.
    /// </summary>
    public static TorchModel Mlp(MlpOptions options, ulong seed) => FromNetwork(NeuralNetwork.CreateMlp(options, seed));

    /// <summary>The built-in CNN of <see cref="NeuralNetwork.CreateConvNet"/> as a TorchSharp <c>Sequential</c> (same layers and initial weights).</summary>
    public static TorchModel ConvNet(ConvNetOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        return FromNetwork(NeuralNetwork.CreateConvNet(options, seed), [options.Channels, options.Height, options.Width]);
    }

    /// <summary>
    /// Converts a managed network (its layers and current weights) into a TorchSharp <c>Sequential</c>: dense -> Linear
    /// (weights transposed to [out, in]), activations, dropout, conv ("same" padding) -> Conv2d, max pooling, and a
    /// Flatten where a dense layer follows a spatial one.
    /// </summary>
    public static TorchModel FromNetwork(NeuralNetwork network, IReadOnlyList<int>? inputShape = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        TorchRuntime.Initialize();
        var shape = inputShape ?? [network.InputSize];
        if (shape.Aggregate(1, (a, b) => a * b) != network.InputSize)
            throw new ArgumentException($"Input shape [{string.Join(", ", shape)}] does not hold the network's {network.InputSize} inputs.", nameof(inputShape));
        // Layer constructors draw PyTorch's default initial weights (replaced below) from the process-wide generator:
        // under the gate, so they do not shift the draws of a model being built from a seed at the same time.
        lock (TorchRuntime.RandomGate) return Convert(network, shape);
    }

    private static TorchModel Convert(NeuralNetwork network, IReadOnlyList<int> shape)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        var spatial = shape.Count > 1;
        int activations = 0, dropouts = 0, pools = 0;
        foreach (var layer in network.Layers)
        {
            switch (layer)
            {
                case DenseLayer d:
                    if (spatial)
                    {
                        layers.Add(("flatten", nn.Flatten()));
                        spatial = false;
                    }
                    var linear = nn.Linear(d.InputSize, d.OutputSize);
                    Copy(linear.weight!, Transpose(d.Weight.Value, d.InputSize, d.OutputSize));
                    Copy(linear.bias!, d.Bias.Value);
                    layers.Add((d.Weight.Name[..d.Weight.Name.IndexOf('.', StringComparison.Ordinal)], linear));
                    break;
                case ActivationLayer a:
                    nn.Module<Tensor, Tensor> activation = a.Kind switch
                    {
                        Activation.Relu => nn.ReLU(),
                        Activation.Tanh => nn.Tanh(),
                        Activation.Sigmoid => nn.Sigmoid(),
                        _ => throw new NotSupportedException($"Activation {a.Kind}."),
                    };
                    layers.Add((a.Kind.ToString().ToLowerInvariant() + (activations++).ToString(CultureInfo.InvariantCulture), activation));
                    break;
                case DropoutLayer dr:
                    layers.Add(("dropout" + (dropouts++).ToString(CultureInfo.InvariantCulture), nn.Dropout(dr.Rate)));
                    break;
                case Conv2dLayer c:
                    var conv = nn.Conv2d(c.C, c.M, c.K, padding: c.Pad);
                    Copy(conv.weight!, c.Weight.Value);
                    Copy(conv.bias!, c.Bias.Value);
                    layers.Add((c.Weight.Name[..c.Weight.Name.IndexOf('.', StringComparison.Ordinal)], conv));
                    break;
                case MaxPool2dLayer p:
                    layers.Add(("pool" + (pools++).ToString(CultureInfo.InvariantCulture), nn.MaxPool2d(p.Size, p.Size)));
                    break;
                default:
                    throw new NotSupportedException($"Layer {layer.GetType().Name} has no TorchSharp counterpart.");
            }
        }
        return new TorchModel(nn.Sequential(layers), shape, network.OutputSize, network.Task, "torch:" + network.Architecture);
    }

    /// <summary>
    /// Builds a model with <paramref name="factory"/> after seeding libtorch's generator with the context's seed (under a
    /// process-wide lock, so two models built at once each get their own reproducible draws).
    /// </summary>
    /// <param name="factory">The model code.</param>
    /// <param name="context">Shapes, task, user parameters, seed.</param>
    /// <param name="architecture">Identifies the code (e.g. type name and assembly hash); see <see cref="TorchUserModel.Architecture"/>.</param>
    public static TorchModel Create(ITorchModelFactory factory, TorchModelContext context, string architecture)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentException.ThrowIfNullOrWhiteSpace(architecture);
        context.Validate();
        TorchRuntime.Initialize();
        nn.Module<Tensor, Tensor> module;
        lock (TorchRuntime.RandomGate)
        {
            random.manual_seed(unchecked((long)context.Seed));
            module = factory.Create(context) ?? throw new InvalidOperationException($"{factory.GetType().FullName}.Create returned null.");
        }
        var parameters = string.Join(";", context.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
        var arch = string.Create(CultureInfo.InvariantCulture,
            $"{architecture}:in={string.Join('x', context.InputShape)}:out={context.OutputSize}:{context.Task}:params={parameters}");
        return new TorchModel(module, context.InputShape, context.OutputSize, context.Task, arch);
    }

    /// <summary>Builds a user model (see <see cref="Create(ITorchModelFactory, TorchModelContext, string)"/>).</summary>
    public static TorchModel Create(TorchUserModel userModel, TorchModelContext context)
    {
        ArgumentNullException.ThrowIfNull(userModel);
        return Create(userModel.Factory, context, userModel.Architecture);
    }

    /// <summary>Moves the parameters and buffers to <paramref name="device"/>.</summary>
    public void MoveTo(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        Module.to(device);
        Device = device;
    }

    /// <summary>
    /// Inference (eval mode, no gradients): class probabilities (softmax) or values, [rows, OutputSize], row-major.
    /// </summary>
    public float[] Predict(ReadOnlySpan<float> features, int rows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        var inputs = InputSize;
        if (features.Length != (long)rows * inputs)
            throw new ArgumentException($"Expected {rows} x {inputs} = {(long)rows * inputs} features, got {features.Length}.", nameof(features));
        var result = new float[rows * OutputSize];
        const int chunk = 512;
        var wasTraining = Module.training;
        Module.eval();
        try
        {
            using var noGrad = no_grad();
            for (var start = 0; start < rows; start += chunk)
            {
                var n = Math.Min(chunk, rows - start);
                using var scope = NewDisposeScope();
                var x = tensor(features.Slice(start * inputs, n * inputs).ToArray(), [n, inputs]).to(Device);
                var y = Forward(x);
                if (Task == PredictionTask.Classification) y = nn.functional.softmax(y, 1);
                y.cpu().data<float>().CopyTo(result, start * OutputSize);
            }
        }
        finally
        {
            Module.train(wasTraining);
        }
        return result;
    }

    /// <summary>Frees the module's native tensors.</summary>
    public void Dispose() => Module.Dispose();

    /// <summary>The module applied to flat rows [n, InputSize] (reshaped to [n, ..InputShape] first).</summary>
    internal Tensor Forward(Tensor flat)
    {
        var x = _inputShape.Length == 1 ? flat : flat.reshape([flat.shape[0], .. _inputShape.Select(d => (long)d)]);
        return Module.forward(x);
    }

    private static void Copy(Tensor target, float[] values)
    {
        using var noGrad = no_grad();
        using var source = tensor(values, target.shape);
        target.copy_(source);
    }

    private static float[] Transpose(float[] values, int rows, int columns)
    {
        var result = new float[values.Length];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < columns; c++) result[c * rows + r] = values[r * columns + c];
        return result;
    }
}

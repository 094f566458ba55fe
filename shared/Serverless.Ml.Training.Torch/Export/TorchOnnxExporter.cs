using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Proto;
using Serverless.Ml.Training.Export;
using Serverless.Ml.Training.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Serverless.Ml.Training.Torch.Export;

/// <summary>
/// Writes a trained <see cref="TorchModel"/> as an ONNX graph (opset 17) through our <see cref="OnnxGraphBuilder"/>, with
/// the managed exporter's interface: input <c>features</c> <c>[batch, InputSize]</c> (a Transform graph's output),
/// output <c>probabilities</c> (classifiers: Softmax appended to the logits) or <c>predictions</c>. The module must be a
/// <c>Sequential</c> (nested ones are walked) of the layers in <see cref="SupportedLayers"/>; batch norm is exported
/// with its running statistics (eval mode) and dropout as the identity. Any other layer fails the export with a
/// <see cref="NotSupportedException"/> naming it.
/// </summary>
public static class TorchOnnxExporter
{
    /// <summary>The layer types that export.</summary>
    public static IReadOnlyList<string> SupportedLayers { get; } =
    [
        "Linear", "Conv2d", "ReLU", "GELU", "Tanh", "Sigmoid", "MaxPool2d", "AvgPool2d", "Flatten", "Unflatten",
        "Dropout", "Identity", "BatchNorm1d", "BatchNorm2d", "Softmax", "Sequential",
    ];

    /// <summary>Builds the model graph.</summary>
    /// <exception cref="NotSupportedException">The module is not a Sequential, or holds a layer without an export; the message names it.</exception>
    public static OnnxGraphBuilder Export(TorchModel model, string inputName = OnnxExporter.InputName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputName);
        if (model.Module is not Sequential sequential)
        {
            throw new NotSupportedException(
                $"The model is a {model.Module.GetType().FullName}, not a Sequential: only sequential stacks export to ONNX " +
                $"(layers: {string.Join(", ", SupportedLayers)}).");
        }
        var g = new OnnxGraphBuilder("torch");
        g.SetMetadata("architecture", model.Architecture);
        g.SetMetadata("engine", "torchsharp");
        var x = g.Input(inputName, OnnxElementType.Float, OnnxDim.Batch, model.InputSize);
        var rank = 2;
        if (model.InputShape.Count > 1)
        {
            x = g.Reshape(x, [-1, .. model.InputShape.Select(d => (long)d)]);
            rank = 1 + model.InputShape.Count;
        }
        (x, rank) = Layers(g, sequential, "", x, rank);
        if (rank != 2)
            throw new NotSupportedException($"The model's output has rank {rank}; an exported model must output [batch, {model.OutputSize}] (add a Flatten).");
        if (model.Task == PredictionTask.Classification) x = g.Softmax(x, -1);
        g.Output(x, OutputName(model), OnnxDim.Batch, model.OutputSize);
        return g;
    }

    /// <summary>
    /// One model = <paramref name="transform"/> (raw features in, an output named like the model's input out) followed by
    /// the model, fused exactly as the managed trainer's export is (<see cref="OnnxExporter.FuseWithTransform"/>).
    /// </summary>
    public static ModelProto ExportWithTransform(ModelProto transform, TorchModel model, string inputName = OnnxExporter.InputName)
    {
        ArgumentNullException.ThrowIfNull(transform);
        ArgumentNullException.ThrowIfNull(model);
        return OnnxExporter.FuseWithTransform(transform, Export(model, inputName).Build(), inputName);
    }

    /// <summary>The output's name: <c>probabilities</c> (classification) or <c>predictions</c>.</summary>
    public static string OutputName(TorchModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Task == PredictionTask.Classification ? "probabilities" : "predictions";
    }

    private static (OnnxValue X, int Rank) Layers(OnnxGraphBuilder g, Sequential sequential, string prefix, OnnxValue x, int rank)
    {
        foreach (var (name, module) in sequential.named_children())
        {
            var path = prefix + name;
            (x, rank) = module switch
            {
                Sequential inner => Layers(g, inner, path + ".", x, rank),
                Linear linear => (Linear(g, linear, x, rank), rank),
                Conv2d conv => (Conv(g, conv, path, x, Require(path, conv, rank, 4)), 4),
                ReLU => (g.Relu(x), rank),
                Tanh => (g.Tanh(x), rank),
                Sigmoid => (g.Sigmoid(x), rank),
                GELU gelu => (Gelu(g, gelu, x), rank),
                MaxPool2d pool => (MaxPool(g, pool, x, Require(path, pool, rank, 4)), 4),
                AvgPool2d pool => (AvgPool(g, pool, path, x, Require(path, pool, rank, 4)), 4),
                Flatten flatten => (Flatten(g, flatten, path, x), 2),
                Unflatten unflatten => Unflatten(g, unflatten, path, x, rank),
                Dropout or Identity => (x, rank),
                BatchNorm norm => (BatchNorm(g, norm, path, x), rank),
                Softmax softmax => (g.Softmax(x, softmax.dim), rank),
                _ => throw new NotSupportedException(
                    $"Layer '{path}' ({module.GetType().Name}) cannot be exported to ONNX. Supported layers: {string.Join(", ", SupportedLayers)}."),
            };
        }
        return (x, rank);
    }

    private static int Require(string path, nn.Module module, int rank, int expected) => rank == expected
        ? rank
        : throw new NotSupportedException($"Layer '{path}' ({module.GetType().Name}) needs a rank-{expected} input, it gets rank {rank}.");

    private static OnnxValue Linear(OnnxGraphBuilder g, Linear linear, OnnxValue x, int rank)
    {
        var weight = Initializer(g, linear.weight!);
        OnnxValue? bias = linear.bias is { } b ? Initializer(g, b) : null;
        // Gemm for [batch, in]; MatMul with the transposed weight for higher ranks (Linear acts on the last axis).
        if (rank == 2) return g.Gemm(x, weight, bias, transB: true);
        using var scope = NewDisposeScope();
        var y = g.MatMul(x, Initializer(g, linear.weight!.detach().t()));
        return bias is { } c ? g.Add(y, c) : y;
    }

    private static OnnxValue Conv(OnnxGraphBuilder g, Conv2d conv, string path, OnnxValue x, int rank)
    {
        _ = rank;
        if (conv.padding_mode != PaddingModes.Zeros)
            throw new NotSupportedException($"Layer '{path}' (Conv2d) uses padding mode {conv.padding_mode}; only zero padding exports.");
        var kernel = conv.kernel_size;
        var stride = conv.stride ?? [1, 1];
        var dilation = conv.dilation ?? [1, 1];
        long[] pads;
        if (conv.padding_type == Padding.Same)
        {
            // PyTorch's "same": total dilation * (k - 1), the odd one extra at the end.
            var total = new[] { dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1) };
            pads = [total[0] / 2, total[1] / 2, total[0] - total[0] / 2, total[1] - total[1] / 2];
        }
        else if (conv.padding_type == Padding.Valid) pads = [0, 0, 0, 0];
        else
        {
            var p = conv.padding ?? [0, 0];
            pads = [p[0], p[1], p[0], p[1]];
        }
        OnnxValue? bias = conv.bias is { } b ? Initializer(g, b) : null;
        return g.Conv(x, Initializer(g, conv.weight!), bias,
            kernelShape: kernel, strides: stride, pads: pads, dilations: dilation, group: conv.groups);
    }

    private static OnnxValue Gelu(OnnxGraphBuilder g, GELU gelu, OnnxValue x)
    {
        // Opset 17 has no Gelu op (it arrives in 20): 0.5 x (1 + erf(x / sqrt 2)), or the tanh approximation.
        OnnxValue inner;
        if (gelu.approximate == GELU.Approximate.tanh)
        {
            var cube = g.Mul(g.Mul(x, x), x);
            var poly = g.Add(x, g.Mul(cube, g.ScalarLike(x, 0.044715)));
            inner = g.Tanh(g.Mul(poly, g.ScalarLike(x, Math.Sqrt(2 / Math.PI))));
        }
        else
        {
            inner = g.Node("Erf", [g.Mul(x, g.ScalarLike(x, 1 / Math.Sqrt(2)))], OnnxElementType.Float);
        }
        return g.Mul(g.Mul(x, g.ScalarLike(x, 0.5)), g.Add(inner, g.ScalarLike(x, 1)));
    }

    private static OnnxValue MaxPool(OnnxGraphBuilder g, MaxPool2d pool, OnnxValue x, int rank)
    {
        _ = rank;
        var kernel = pool.kernel_size;
        var padding = pool.padding ?? [0, 0];
        return g.Node("MaxPool", [x], OnnxElementType.Float,
        [
            OnnxAttribute.Ints("kernel_shape", kernel),
            OnnxAttribute.Ints("strides", pool.stride ?? kernel),
            OnnxAttribute.Ints("pads", [padding[0], padding[1], padding[0], padding[1]]),
            OnnxAttribute.Ints("dilations", pool.dilation ?? [1, 1]),
            OnnxAttribute.Int("ceil_mode", pool.ceil_mode ? 1 : 0),
        ]);
    }

    private static OnnxValue AvgPool(OnnxGraphBuilder g, AvgPool2d pool, string path, OnnxValue x, int rank)
    {
        _ = rank;
        if (pool.divisor_override is not null)
            throw new NotSupportedException($"Layer '{path}' (AvgPool2d) sets divisor_override, which ONNX AveragePool cannot express.");
        var kernel = pool.kernel_size;
        var padding = pool.padding ?? [0, 0];
        return g.Node("AveragePool", [x], OnnxElementType.Float,
        [
            OnnxAttribute.Ints("kernel_shape", kernel),
            OnnxAttribute.Ints("strides", pool.stride ?? kernel),
            OnnxAttribute.Ints("pads", [padding[0], padding[1], padding[0], padding[1]]),
            OnnxAttribute.Int("ceil_mode", pool.ceil_mode ? 1 : 0),
            // PyTorch counts the zero padding by default; ONNX does not unless told.
            OnnxAttribute.Int("count_include_pad", pool.count_include_pad ? 1 : 0),
        ]);
    }

    private static OnnxValue Flatten(OnnxGraphBuilder g, Flatten flatten, string path, OnnxValue x)
    {
        if (flatten.start_dim != 1 || flatten.end_dim != -1)
            throw new NotSupportedException($"Layer '{path}' (Flatten) flattens dims {flatten.start_dim}..{flatten.end_dim}; only Flatten(1, -1) exports.");
        return g.Flatten(x, 1);
    }

    private static (OnnxValue, int) Unflatten(OnnxGraphBuilder g, Unflatten unflatten, string path, OnnxValue x, int rank)
    {
        if (unflatten.dim != 1 || rank != 2)
            throw new NotSupportedException($"Layer '{path}' (Unflatten) unflattens dim {unflatten.dim} of a rank-{rank} value; only dim 1 of [batch, n] exports.");
        return (g.Reshape(x, [0, .. unflatten.unflattened_size]), 1 + unflatten.unflattened_size.Length);
    }

    private static OnnxValue BatchNorm(OnnxGraphBuilder g, BatchNorm norm, string path, OnnxValue x)
    {
        if (norm is not (BatchNorm1d or BatchNorm2d))
            throw new NotSupportedException($"Layer '{path}' ({norm.GetType().Name}) cannot be exported to ONNX. Supported layers: {string.Join(", ", SupportedLayers)}.");
        if (!norm.track_running_stats || norm.running_mean is null || norm.running_var is null)
            throw new NotSupportedException($"Layer '{path}' ({norm.GetType().Name}) keeps no running statistics, so it has no eval-mode form to export.");
        var features = norm.num_features;
        var scale = norm.affine && norm.weight is { } w ? Initializer(g, w) : g.Initializer(null, Enumerable.Repeat(1f, (int)features).ToArray(), features);
        var shift = norm.affine && norm.bias is { } b ? Initializer(g, b) : g.Initializer(null, new float[features], features);
        return g.Node("BatchNormalization", [x, scale, shift, Initializer(g, norm.running_mean), Initializer(g, norm.running_var)], OnnxElementType.Float,
            [OnnxAttribute.Float("epsilon", (float)norm.eps)]);
    }

    private static OnnxValue Initializer(OnnxGraphBuilder g, Tensor t)
    {
        using var scope = NewDisposeScope();
        var cpu = t.detach().to(ScalarType.Float32).cpu().contiguous();
        return g.Initializer(null, cpu.data<float>().ToArray(), cpu.shape);
    }
}

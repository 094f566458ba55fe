using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Proto;
using Serverless.Ml.Training.Compute;
using Serverless.Ml.Training.Models;

namespace Serverless.Ml.Training.Export;

/// <summary>
/// Writes a trained <see cref="NeuralNetwork"/> as an ONNX graph (opset 17): MLP as Gemm + Relu/Tanh/Sigmoid,
/// CNN as Reshape + Conv/Relu/MaxPool + Flatten + Gemm; classifiers end in Softmax (output
/// <c>probabilities</c>), regressors output <c>predictions</c>. Dropout is the identity at inference and is left
/// out. The input is the flat feature row [batch, InputSize] (named <c>features</c>), the output of a Transform
/// graph, so <see cref="ExportWithTransform"/> can fuse the two into one model that takes raw features.
/// </summary>
public static class OnnxExporter
{
    /// <summary>Default input name: what Transform graphs output.</summary>
    public const string InputName = "features";

    /// <summary>The output's name for <paramref name="network"/>: <c>probabilities</c> or <c>predictions</c>.</summary>
    public static string OutputName(NeuralNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return network.Task == PredictionTask.Classification ? "probabilities" : "predictions";
    }

    /// <summary>Builds the model graph.</summary>
    public static OnnxGraphBuilder Export(NeuralNetwork network, string inputName = InputName)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputName);
        var g = new OnnxGraphBuilder(network.Mlp is not null ? "mlp" : "cnn");
        g.SetMetadata("architecture", network.Architecture);
        var x = g.Input(inputName, OnnxElementType.Float, OnnxDim.Batch, network.InputSize);
        var spatial = false;
        foreach (var layer in network.Layers)
        {
            switch (layer)
            {
                case DenseLayer d:
                    if (spatial)
                    {
                        x = g.Flatten(x, 1);
                        spatial = false;
                    }
                    x = g.Gemm(x, g.Initializer(d.Weight.Name, d.Weight.Value, d.Weight.ShapeInt64), g.Initializer(d.Bias.Name, d.Bias.Value, d.Bias.ShapeInt64));
                    break;
                case ActivationLayer a:
                    x = a.Kind switch
                    {
                        Activation.Relu => g.Relu(x),
                        Activation.Tanh => g.Tanh(x),
                        Activation.Sigmoid => g.Sigmoid(x),
                        _ => throw new NotSupportedException($"Activation {a.Kind}."),
                    };
                    break;
                case DropoutLayer:
                    break;
                case Conv2dLayer c:
                    if (!spatial)
                    {
                        x = g.Reshape(x, -1, c.C, c.H, c.W);
                        spatial = true;
                    }
                    x = g.Conv(x, g.Initializer(c.Weight.Name, c.Weight.Value, c.Weight.ShapeInt64), g.Initializer(c.Bias.Name, c.Bias.Value, c.Bias.ShapeInt64),
                        kernelShape: [c.K, c.K], pads: [c.Pad, c.Pad, c.Pad, c.Pad]);
                    break;
                case MaxPool2dLayer p:
                    x = g.MaxPool(x, [p.Size, p.Size], strides: [p.Size, p.Size]);
                    break;
                default:
                    throw new NotSupportedException($"Layer {layer.GetType().Name} has no ONNX export.");
            }
        }
        if (spatial) x = g.Flatten(x, 1);
        if (network.Task == PredictionTask.Classification) x = g.Softmax(x, -1);
        g.Output(x, OutputName(network), OnnxDim.Batch, network.OutputSize);
        return g;
    }

    /// <summary>
    /// One model = <paramref name="transform"/> (raw features in, an output named like the model's input out)
    /// followed by the network: raw features in, predictions out, no preprocessing code outside ONNX.
    /// </summary>
    public static ModelProto ExportWithTransform(ModelProto transform, NeuralNetwork network, string inputName = InputName)
    {
        ArgumentNullException.ThrowIfNull(transform);
        ArgumentNullException.ThrowIfNull(network);
        return FuseWithTransform(transform, Export(network, inputName).Build(), inputName);
    }

    /// <summary>
    /// Fuses a transform graph with any exported model graph whose input is <paramref name="inputName"/>: the transform's
    /// output of that name feeds the model, names inside get the prefixes <c>transform/</c> and <c>model/</c>. Every
    /// training engine's export goes through this, so served models look the same whichever engine trained them.
    /// </summary>
    public static ModelProto FuseWithTransform(ModelProto transform, ModelProto model, string inputName = InputName)
    {
        ArgumentNullException.ThrowIfNull(transform);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputName);
        return OnnxModelMerger.Merge(transform, model,
            new Dictionary<string, string>(StringComparer.Ordinal) { [inputName] = inputName },
            new OnnxMergeOptions { FirstPrefix = "transform/", SecondPrefix = "model/" });
    }
}

using Serverless.Ml.Training.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Serverless.Ml.Training.Torch.TestModels;

/// <summary>
/// Every exportable layer in one stack on [1, 12, 12] inputs, including the less common forms: dilated "same"
/// convolution, ceil-mode pooling, BatchNorm1d, the tanh GELU, Sigmoid, Unflatten, a Softmax in the middle, Linear on a
/// rank-3 value (MatMul export), a nested Sequential and Identity.
/// </summary>
public sealed class LayerZoo : ITorchModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Create(TorchModelContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var block = nn.Sequential(
            ("conv", nn.Conv2d(4, 6, 3, padding: Padding.Same, dilation: 2)),
            ("gelu", nn.GELU()),
            ("pool", nn.AvgPool2d(3, stride: 2, padding: 1, ceil_mode: true)));
        return nn.Sequential(
            ("conv1", nn.Conv2d(context.InputShape[0], 4, 3, stride: 1, padding: 1)),
            ("bn1", nn.BatchNorm2d(4)),
            ("relu", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2, ceil_mode: true)),
            ("block", block),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(6 * 4 * 4, 16)),
            ("bn2", nn.BatchNorm1d(16)),
            ("gelu_tanh", nn.GELU(TorchSharp.Modules.GELU.Approximate.tanh)),
            ("identity", nn.Identity()),
            ("fc2", nn.Linear(16, 12)),
            ("sigmoid", nn.Sigmoid()),
            ("unflatten", nn.Unflatten(1, [3, 4])),
            ("softmax", nn.Softmax(-1)),
            ("fc3", nn.Linear(4, 5)),
            ("flatten2", nn.Flatten()),
            ("drop", nn.Dropout(0.1)),
            ("out", nn.Linear(15, context.OutputSize)));
    }
}

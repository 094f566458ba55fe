using Serverless.Ml.Training.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Serverless.Ml.Training.Torch.TestModels;

/// <summary>
/// A user CNN for [1, 28, 28] images using most exportable layers: Conv2d (explicit and "same" padding), BatchNorm2d,
/// ReLU, GELU, MaxPool2d, AvgPool2d (padded, counting the padding like PyTorch), Flatten, Linear, Tanh, Dropout.
/// </summary>
public sealed class FashionConvNet : ITorchModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Create(TorchModelContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var channels = context.InputShape[0];
        return nn.Sequential(
            ("conv1", nn.Conv2d(channels, 8, 3, padding: 1)),
            ("bn1", nn.BatchNorm2d(8)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(8, 8, 3, padding: Padding.Same)),
            ("gelu", nn.GELU()),
            ("pool2", nn.AvgPool2d(3, stride: 2, padding: 1)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(8 * 7 * 7, 32)),
            ("tanh", nn.Tanh()),
            ("drop", nn.Dropout(0.2)),
            ("fc2", nn.Linear(32, context.OutputSize)));
    }
}

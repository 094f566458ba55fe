using Serverless.Ml.Training.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Serverless.Ml.Training.Torch.TestModels;

/// <summary>Ends in Softmax although it is a classifier: training must refuse it.</summary>
public sealed class SoftmaxOutputModel : ITorchModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Create(TorchModelContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return nn.Sequential(("fc", nn.Linear(context.InputSize, context.OutputSize)), ("softmax", nn.Softmax(1)));
    }
}

using Serverless.Ml.Training.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Serverless.Ml.Training.Torch.TestModels;

/// <summary>A factory without a parameterless constructor.</summary>
public sealed class NeedsArguments(int width) : ITorchModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Create(TorchModelContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return nn.Linear(context.InputSize, width);
    }
}

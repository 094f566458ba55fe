using Serverless.Ml.Training.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Serverless.Ml.Training.Torch.TestModels;

/// <summary>Trains, but ELU has no ONNX export here: the export must fail naming the layer.</summary>
public sealed class EluModel : ITorchModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Create(TorchModelContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return nn.Sequential(("fc1", nn.Linear(context.InputSize, 16)), ("act", nn.ELU()), ("fc2", nn.Linear(16, context.OutputSize)));
    }
}

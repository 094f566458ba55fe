using System.Globalization;
using Serverless.Ml.Training.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Serverless.Ml.Training.Torch.TestModels;

/// <summary>A user MLP: Linear -> ReLU -> Dropout -> Linear; the hidden width comes from the pipeline's parameter <c>hidden</c>.</summary>
public sealed class FashionMlp : ITorchModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Create(TorchModelContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var hidden = context.Parameters.TryGetValue("hidden", out var h) ? int.Parse(h, CultureInfo.InvariantCulture) : 64;
        var dropout = context.Parameters.TryGetValue("dropout", out var d) ? double.Parse(d, CultureInfo.InvariantCulture) : 0.1;
        return nn.Sequential(
            ("fc1", nn.Linear(context.InputSize, hidden)),
            ("relu", nn.ReLU()),
            ("drop", nn.Dropout(dropout)),
            ("fc2", nn.Linear(hidden, context.OutputSize)));
    }
}

using Serverless.Ml.Training.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Serverless.Ml.Training.Torch.TestModels;

/// <summary>A model with its own forward (not a Sequential): it trains, and the export refuses it.</summary>
public sealed class CustomForwardModel : ITorchModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Create(TorchModelContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new ResidualNet(context.InputSize, context.OutputSize);
    }

    private sealed class ResidualNet : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> _hidden;
        private readonly nn.Module<Tensor, Tensor> _output;

        public ResidualNet(int inputs, int outputs) : base(nameof(ResidualNet))
        {
            _hidden = nn.Linear(inputs, inputs);
            _output = nn.Linear(inputs, outputs);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => _output.forward(input + nn.functional.relu(_hidden.forward(input)));
    }
}

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

/// <summary>Not a model factory at all.</summary>
public sealed class NotAFactory
{
}

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

using Serverless.Ml.Training.Compute;
using Serverless.Ml.Training.Models;

namespace Serverless.Ml.Training.Training;

/// <summary>Optimizer settings; the concrete record picks the algorithm.</summary>
public abstract record OptimizerOptions
{
    /// <summary>Step size.</summary>
    public abstract float LearningRate { get; init; }
}

/// <summary>Adam with PyTorch's defaults and update rule (bias-corrected, eps outside the square root).</summary>
public sealed record AdamOptions : OptimizerOptions
{
    /// <summary>Default 1e-3.</summary>
    public override float LearningRate { get; init; } = 1e-3f;

    /// <summary>Decay of the first moment. Default 0.9.</summary>
    public float Beta1 { get; init; } = 0.9f;

    /// <summary>Decay of the second moment. Default 0.999.</summary>
    public float Beta2 { get; init; } = 0.999f;

    /// <summary>Added to the denominator. Default 1e-8.</summary>
    public float Epsilon { get; init; } = 1e-8f;
}

/// <summary>Stochastic gradient descent with momentum (PyTorch's form: buf = momentum * buf + g; p -= lr * buf).</summary>
public sealed record SgdOptions : OptimizerOptions
{
    /// <summary>Default 0.01.</summary>
    public override float LearningRate { get; init; } = 0.01f;

    /// <summary>Momentum. Default 0.9 (0 gives plain SGD).</summary>
    public float Momentum { get; init; } = 0.9f;
}

/// <summary>The optimizer's state (moments / velocities and its step count), which checkpoints save.</summary>
internal sealed class Optimizer
{
    private readonly OptimizerOptions _options;
    private readonly IReadOnlyList<Parameter> _parameters;

    public Optimizer(OptimizerOptions options, IReadOnlyList<Parameter> parameters)
    {
        _options = options;
        _parameters = parameters;
        var slots = options is AdamOptions ? new[] { "m", "v" } : ["velocity"];
        State = parameters.SelectMany(p => slots.Select(s => (Name: $"optimizer.{s}/{p.Name}", Values: new float[p.Value.Length]))).ToArray();
    }

    /// <summary>Completed updates (Adam's t).</summary>
    public long Step { get; set; }

    /// <summary>Named state tensors, in a fixed order.</summary>
    public IReadOnlyList<(string Name, float[] Values)> State { get; }

    public string Kind => _options is AdamOptions ? "adam" : "sgd";

    public void Update(IComputeBackend backend)
    {
        Step++;
        switch (_options)
        {
            case AdamOptions adam:
            {
                var bc1 = 1 - Math.Pow(adam.Beta1, Step);
                var bc2 = 1 - Math.Pow(adam.Beta2, Step);
                var stepSize = (float)(adam.LearningRate / bc1);
                var sqrtBc2 = (float)Math.Sqrt(bc2);
                for (var i = 0; i < _parameters.Count; i++)
                {
                    var p = _parameters[i];
                    backend.AdamUpdate(p.Value, p.Gradient, State[2 * i].Values, State[2 * i + 1].Values, stepSize, adam.Beta1, adam.Beta2, adam.Epsilon, sqrtBc2);
                }
                break;
            }
            case SgdOptions sgd:
                for (var i = 0; i < _parameters.Count; i++)
                {
                    var p = _parameters[i];
                    backend.SgdUpdate(p.Value, p.Gradient, State[i].Values, sgd.LearningRate, sgd.Momentum);
                }
                break;
            default:
                throw new NotSupportedException($"Unknown optimizer {_options.GetType().Name}.");
        }
    }
}

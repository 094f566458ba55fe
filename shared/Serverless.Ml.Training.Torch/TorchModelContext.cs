using Serverless.Ml.Training.Models;

namespace Serverless.Ml.Training.Torch;

/// <summary>What a model factory needs to know to build a module.</summary>
public sealed record TorchModelContext
{
    /// <summary>
    /// Shape of one example as the module receives it, e.g. <c>[784]</c> for flat rows or <c>[1, 28, 28]</c> for images
    /// (the trainer reshapes the transformed rows, which are flat, to <c>[batch, ..InputShape]</c>). Required.
    /// </summary>
    public required IReadOnlyList<int> InputShape { get; init; }

    /// <summary>Number of classes (classification) or target values (regression). Required.</summary>
    public required int OutputSize { get; init; }

    /// <summary>Classification (logits out) or regression (values out). Default classification.</summary>
    public PredictionTask Task { get; init; } = PredictionTask.Classification;

    /// <summary>The user's own settings from the pipeline file (TFX's <c>custom_config</c>). Default empty.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The run's seed (libtorch's generator is already seeded with it when the factory runs). Default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>Features per example: the product of <see cref="InputShape"/>.</summary>
    public int InputSize => InputShape.Aggregate(1, (a, b) => checked(a * b));

    /// <summary>Checks the shape and sizes.</summary>
    /// <exception cref="ArgumentException">The first bad value, named.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(InputShape);
        ArgumentNullException.ThrowIfNull(Parameters);
        if (InputShape.Count == 0 || InputShape.Any(d => d <= 0))
            throw new ArgumentException($"InputShape [{string.Join(", ", InputShape)}] must have at least one dimension, all positive.", nameof(InputShape));
        if (OutputSize < 1 || (Task == PredictionTask.Classification && OutputSize < 2))
            throw new ArgumentException($"OutputSize {OutputSize} is too small for {Task.ToString().ToLowerInvariant()}.", nameof(OutputSize));
    }
}

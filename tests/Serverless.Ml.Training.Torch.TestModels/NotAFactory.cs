namespace Serverless.Ml.Training.Torch.TestModels;

/// <summary>Not a model factory at all.</summary>
public sealed class NotAFactory
{
}

using Serverless.Ml.Training.Compute;

namespace Serverless.Ml.Training.Models;

/// <summary>What a network predicts; decides the loss, the metric and the exported output.</summary>
public enum PredictionTask
{
    /// <summary>Class probabilities (softmax); loss softmax cross-entropy; metric accuracy.</summary>
    Classification,

    /// <summary>Real values; loss mean squared error; metric root mean squared error.</summary>
    Regression,
}

/// <summary>A multilayer perceptron for tabular data.</summary>
public sealed record MlpOptions
{
    /// <summary>Number of input features (required).</summary>
    public required int InputSize { get; init; }

    /// <summary>Widths of the hidden layers. Default one layer of 64.</summary>
    public IReadOnlyList<int> HiddenSizes { get; init; } = [64];

    /// <summary>Number of classes (classification) or target values (regression) (required).</summary>
    public required int OutputSize { get; init; }

    /// <summary>Activation after every hidden layer. Default ReLU.</summary>
    public Activation Activation { get; init; } = Activation.Relu;

    /// <summary>Dropout rate after every hidden activation, in [0, 1). Default 0 (none).</summary>
    public float Dropout { get; init; }

    /// <summary>Classification or regression. Default classification.</summary>
    public PredictionTask Task { get; init; } = PredictionTask.Classification;
}

/// <summary>
/// A small convolutional classifier for images such as Fashion-MNIST's 28x28: for each entry of
/// <see cref="ConvChannels"/> a "same"-padded convolution, ReLU and 2x2 max pooling, then dense layers.
/// </summary>
public sealed record ConvNetOptions
{
    /// <summary>Input channels. Default 1.</summary>
    public int Channels { get; init; } = 1;

    /// <summary>Image height. Default 28.</summary>
    public int Height { get; init; } = 28;

    /// <summary>Image width. Default 28.</summary>
    public int Width { get; init; } = 28;

    /// <summary>Output channels of each convolution block. Default [8, 16].</summary>
    public IReadOnlyList<int> ConvChannels { get; init; } = [8, 16];

    /// <summary>Odd square kernel size. Default 3.</summary>
    public int KernelSize { get; init; } = 3;

    /// <summary>Hidden dense layers after the convolutions (ReLU). Default none.</summary>
    public IReadOnlyList<int> HiddenSizes { get; init; } = [];

    /// <summary>Dropout rate before the last dense layer. Default 0.</summary>
    public float Dropout { get; init; }

    /// <summary>Number of classes. Default 10.</summary>
    public int Classes { get; init; } = 10;
}

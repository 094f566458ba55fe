using System.Numerics.Tensors;
using Serverless.Ml.Training.Compute;

namespace Serverless.Ml.Training.Training;

/// <summary>Losses and their gradients with respect to the network's raw outputs.</summary>
internal static class Losses
{
    /// <summary>
    /// Softmax cross-entropy (mean over rows, PyTorch's CrossEntropyLoss). Returns the sum of per-row losses;
    /// writes dLoss/dLogits of the mean into <paramref name="gradient"/> unless it is empty; counts argmax hits.
    /// </summary>
    public static double SoftmaxCrossEntropy(IComputeBackend backend, ReadOnlySpan<float> logits, ReadOnlySpan<float> labels, int rows,
        int classes, Span<float> probabilities, Span<float> gradient, out int correct)
    {
        backend.SoftmaxRows(logits, rows, classes, probabilities);
        correct = 0;
        var sum = 0.0;
        var inv = 1f / rows;
        for (var r = 0; r < rows; r++)
        {
            var label = Label(labels[r], classes, r);
            var row = logits.Slice(r * classes, classes);
            var max = TensorPrimitives.Max(row);
            var expSum = 0.0;
            for (var j = 0; j < classes; j++) expSum += Math.Exp(row[j] - max);
            sum += max + Math.Log(expSum) - row[label];
            if (TensorPrimitives.IndexOfMax(row) == label) correct++;
            if (!gradient.IsEmpty)
            {
                var g = gradient.Slice(r * classes, classes);
                var p = probabilities.Slice(r * classes, classes);
                for (var j = 0; j < classes; j++) g[j] = (p[j] - (j == label ? 1f : 0f)) * inv;
            }
        }
        return sum;
    }

    /// <summary>
    /// Squared error; returns its sum over all elements; writes the gradient of the mean (PyTorch's MSELoss,
    /// mean over rows and outputs) into <paramref name="gradient"/> unless it is empty.
    /// </summary>
    public static double SquaredError(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int count, Span<float> gradient)
    {
        var sum = 0.0;
        var scale = 2f / count;
        for (var i = 0; i < count; i++)
        {
            var d = outputs[i] - targets[i];
            sum += (double)d * d;
            if (!gradient.IsEmpty) gradient[i] = d * scale;
        }
        return sum;
    }

    private static int Label(float value, int classes, int row)
    {
        var label = (int)value;
        if (label != value || label < 0 || label >= classes)
            throw new ArgumentException($"Row {row}: label {value} is not a class index in [0, {classes}).");
        return label;
    }
}

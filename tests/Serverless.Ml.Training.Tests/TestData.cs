using Serverless.Ml.Training;
using Serverless.Ml.Training.Training;

namespace Serverless.Ml.Training.Tests;

/// <summary>Small synthetic data sets, made from a seed so every test sees the same rows.</summary>
internal static class TestData
{
    public static TrainingData Xor()
    {
        float[] x = [0, 0, 0, 1, 1, 0, 1, 1];
        return new TrainingData(x, [0, 1, 1, 0], 4);
    }

    /// <summary>Two Gaussian blobs in <paramref name="dims"/> dimensions, labels 0/1, well separated.</summary>
    public static TrainingData Blobs(int rows, int dims, ulong seed, bool flipLabels = false)
    {
        var rng = new DeterministicRandom(seed);
        var x = new float[rows * dims];
        var y = new float[rows];
        for (var r = 0; r < rows; r++)
        {
            var label = r % 2;
            for (var d = 0; d < dims; d++) x[r * dims + d] = Normal(rng) * 0.7f + (label == 0 ? -1.5f : 1.5f) * (d == 0 ? 1 : 0.3f);
            y[r] = flipLabels ? 1 - label : label;
        }
        return new TrainingData(x, y, rows);
    }

    /// <summary>y = [2 x0 - x1 + 0.5, x0 * x1] plus a little noise.</summary>
    public static TrainingData Regression(int rows, ulong seed)
    {
        var rng = new DeterministicRandom(seed);
        var x = new float[rows * 3];
        var y = new float[rows * 2];
        for (var r = 0; r < rows; r++)
        {
            float a = rng.NextFloat(-1, 1), b = rng.NextFloat(-1, 1), c = rng.NextFloat(-1, 1);
            x[r * 3] = a; x[r * 3 + 1] = b; x[r * 3 + 2] = c;
            y[r * 2] = 2 * a - b + 0.5f + 0.01f * Normal(rng);
            y[r * 2 + 1] = a * b;
        }
        return new TrainingData(x, y, rows);
    }

    /// <summary>size x size images with a bright horizontal (class 0), vertical (1) or diagonal (2) stroke plus noise.</summary>
    public static TrainingData Strokes(int rows, int size, ulong seed)
    {
        var rng = new DeterministicRandom(seed);
        var x = new float[rows * size * size];
        var y = new float[rows];
        for (var r = 0; r < rows; r++)
        {
            var label = r % 3;
            var at = rng.NextInt(size);
            var img = x.AsSpan(r * size * size, size * size);
            for (var i = 0; i < img.Length; i++) img[i] = 0.2f * rng.NextFloat();
            for (var i = 0; i < size; i++)
            {
                var (row, col) = label switch { 0 => (at, i), 1 => (i, at), _ => (i, i) };
                img[row * size + col] = 1f;
            }
            y[r] = label;
        }
        return new TrainingData(x, y, rows);
    }

    public static float Normal(DeterministicRandom rng)
    {
        var u1 = Math.Max(rng.NextFloat(), 1e-7f);
        var u2 = rng.NextFloat();
        return MathF.Sqrt(-2 * MathF.Log(u1)) * MathF.Cos(2 * MathF.PI * u2);
    }

    public static float[] Snapshot(Serverless.Ml.Training.Models.NeuralNetwork network) =>
        network.Parameters.SelectMany(p => p.Value).ToArray();
}

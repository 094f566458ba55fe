using Serverless.Ml.Training;
using Serverless.Ml.Training.Compute;
using Serverless.Ml.Training.Models;
using Serverless.Ml.Training.Training;

namespace Serverless.Ml.Training.Tests;

/// <summary>
/// Backpropagated gradients against central finite differences of the loss, for every parameter tensor and the
/// input, through every layer type (dense, relu/tanh/sigmoid, dropout, conv, max pool) and both losses.
/// </summary>
public sealed class GradientCheckTests
{
    private static readonly CpuBackend s_backend = new(2);

    public static TheoryData<string> Networks => ["mlp-relu-ce", "mlp-tanh-mse", "mlp-sigmoid-dropout-ce", "cnn-ce"];

    private static (NeuralNetwork Net, float[] X, float[] Y, int Batch) Make(string name)
    {
        var rng = new DeterministicRandom(42);
        NeuralNetwork net = name switch
        {
            "mlp-relu-ce" => NeuralNetwork.CreateMlp(new MlpOptions { InputSize = 5, HiddenSizes = [7, 6], OutputSize = 3 }, 1),
            "mlp-tanh-mse" => NeuralNetwork.CreateMlp(new MlpOptions { InputSize = 4, HiddenSizes = [5], OutputSize = 2, Activation = Activation.Tanh, Task = PredictionTask.Regression }, 2),
            "mlp-sigmoid-dropout-ce" => NeuralNetwork.CreateMlp(new MlpOptions { InputSize = 4, HiddenSizes = [9], OutputSize = 3, Activation = Activation.Sigmoid, Dropout = 0.3f }, 3),
            _ => NeuralNetwork.CreateConvNet(new ConvNetOptions { Height = 6, Width = 6, ConvChannels = [2, 3], HiddenSizes = [5], Classes = 3 }, 4),
        };
        const int batch = 3;
        var x = new float[batch * net.InputSize];
        for (var i = 0; i < x.Length; i++) x[i] = rng.NextFloat(-1, 1);
        float[] y = net.Task == PredictionTask.Classification ? [0, 2, 1] : Enumerable.Range(0, batch * net.OutputSize).Select(_ => rng.NextFloat(-1, 1)).ToArray();
        return (net, x, y, batch);
    }

    private static double Loss(NeuralNetwork net, float[] x, float[] y, int batch, float[]? gradient = null)
    {
        var ctx = new PassContext(s_backend, true, 7, 5); // training mode: same dropout mask every call
        var output = net.Forward(ctx, x, batch);
        var n = batch * net.OutputSize;
        var grad = new float[n];
        var loss = net.Task == PredictionTask.Classification
            ? Losses.SoftmaxCrossEntropy(s_backend, output, y, batch, net.OutputSize, new float[n], grad, out _) / batch
            : Losses.SquaredError(output, y, n, grad) / n;
        if (gradient != null) net.Backward(ctx, grad, batch, gradient);
        return loss;
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Backward_EveryParameterAndInput_MatchesFiniteDifferences(string name)
    {
        var (net, x, y, batch) = Make(name);
        var inputGradient = new float[x.Length];
        Loss(net, x, y, batch, inputGradient);
        var analytic = net.Parameters.Select(p => (float[])p.Gradient.Clone()).ToList();

        void Check(string what, float[] values, float[] grad)
        {
            var stride = Math.Max(1, values.Length / 25); // up to ~25 entries per tensor keeps the test fast
            for (var i = 0; i < values.Length; i += stride)
            {
                const float eps = 1e-3f;
                var saved = values[i];
                values[i] = saved + eps;
                var plus = Loss(net, x, y, batch);
                values[i] = saved - eps;
                var minus = Loss(net, x, y, batch);
                values[i] = saved;
                var numeric = (plus - minus) / (2 * eps);
                Assert.True(Math.Abs(numeric - grad[i]) <= 2e-3 + 2e-2 * Math.Abs(numeric),
                    $"{name} {what}[{i}]: backprop {grad[i]}, finite difference {numeric}");
            }
        }

        for (var p = 0; p < net.Parameters.Count; p++) Check(net.Parameters[p].Name, net.Parameters[p].Value, analytic[p]);
        Check("input", x, inputGradient);
        Assert.Contains(analytic, g => g.Any(v => v != 0));
    }

    [Fact]
    public void SoftmaxCrossEntropy_KnownLogits_MatchesClosedForm()
    {
        var probabilities = new float[3];
        var gradient = new float[3];
        var loss = Losses.SoftmaxCrossEntropy(s_backend, [1f, 2f, 3f], [2f], 1, 3, probabilities, gradient, out var correct);
        var lse = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3));
        Assert.Equal(lse - 3, loss, 5);
        Assert.Equal(1, correct);
        Assert.Equal(Math.Exp(1 - lse), gradient[0], 5);
        Assert.Equal(Math.Exp(3 - lse) - 1, gradient[2], 5);
    }

    [Fact]
    public void SoftmaxCrossEntropy_LabelOutOfRange_Throws()
    {
        Assert.Throws<ArgumentException>(() => Losses.SoftmaxCrossEntropy(s_backend, [1f, 2f], [2f], 1, 2, new float[2], new float[2], out _));
    }
}

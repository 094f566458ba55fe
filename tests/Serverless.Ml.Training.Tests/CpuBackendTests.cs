using Serverless.Ml.Training;
using Serverless.Ml.Training.Compute;

namespace Serverless.Ml.Training.Tests;

public sealed class CpuBackendTests
{
    private static float[] RandomArray(int n, ulong seed)
    {
        var rng = new DeterministicRandom(seed);
        var a = new float[n];
        for (var i = 0; i < n; i++) a[i] = rng.NextFloat(-1f, 1f);
        return a;
    }

    // op(A)(i,p) and op(B)(p,j) read the way the backend documents, summed in double.
    private static double[] NaiveGemm(bool ta, bool tb, int m, int n, int k, float alpha, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        var result = new double[m * n];
        for (var i = 0; i < m; i++)
        for (var j = 0; j < n; j++)
        {
            var s = 0.0;
            for (var p = 0; p < k; p++) s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            result[i * n + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j]);
        }
        return result;
    }

    [Theory]
    [InlineData(false, false, 1, 1, 1, 1f, 0f)]
    [InlineData(false, false, 7, 19, 5, 1f, 0f)]
    [InlineData(true, false, 13, 33, 300, 1f, 1f)]
    [InlineData(false, true, 130, 17, 31, 0.5f, 2f)]
    [InlineData(true, true, 97, 530, 513, 1f, 0f)]
    [InlineData(false, false, 128, 256, 784, 1f, -1f)]
    public void Gemm_AnyTransposeAndSize_MatchesNaive(bool ta, bool tb, int m, int n, int k, float alpha, float beta)
    {
        int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
        var a = RandomArray((ta ? k : m) * lda, 1);
        var b = RandomArray((tb ? n : k) * ldb, 2);
        var c = RandomArray(m * ldc, 3);
        var expected = NaiveGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        var padding = c[ldc - 1];
        new CpuBackend(2).Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        for (var i = 0; i < m; i++)
        for (var j = 0; j < n; j++)
            Assert.True(Math.Abs(c[i * ldc + j] - expected[i * n + j]) <= 1e-4 * Math.Max(1, Math.Sqrt(k)), $"C[{i},{j}] = {c[i * ldc + j]}, expected {expected[i * n + j]}");
        Assert.Equal(padding, c[ldc - 1]); // columns past n are not touched
    }

    [Fact]
    public void Gemm_BetaZero_IgnoresNaNInC()
    {
        var c = new float[4];
        Array.Fill(c, float.NaN);
        new CpuBackend(1).Gemm(false, false, 2, 2, 1, 1f, [1f, 2f], 1, [3f, 4f], 2, 0f, c, 2);
        Assert.Equal([3f, 4f, 6f, 8f], c);
    }

    [Fact]
    public void Gemm_OneTwoAndFourThreads_BitIdentical()
    {
        const int m = 300, n = 700, k = 600;
        var a = RandomArray(m * k, 4);
        var b = RandomArray(k * n, 5);
        float[] Run(int threads)
        {
            var c = new float[m * n];
            new CpuBackend(threads).Gemm(false, true, m, n, k, 1f, a, k, b, k, 0f, c, n);
            return c;
        }
        var one = Run(1);
        Assert.Equal(one, Run(2));
        Assert.Equal(one, Run(4));
    }

    [Fact]
    public void Gemm_MatrixTooSmallForShape_Throws()
    {
        Assert.Throws<ArgumentException>(() => new CpuBackend(1).Gemm(false, false, 3, 3, 3, 1f, new float[8], 3, new float[9], 3, 0f, new float[9], 3));
    }

    [Theory]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Sigmoid)]
    public void ActivateBackward_MatchesDerivativeOfActivate(Activation kind)
    {
        var backend = new CpuBackend(1);
        var x = RandomArray(37, 6);
        for (var i = 0; i < x.Length; i++) x[i] *= 3;
        var y = new float[x.Length];
        backend.Activate(kind, x, y);
        var dy = RandomArray(x.Length, 7);
        var dx = new float[x.Length];
        backend.ActivateBackward(kind, y, dy, dx);
        for (var i = 0; i < x.Length; i++)
        {
            double F(double v) => kind switch { Activation.Relu => Math.Max(v, 0), Activation.Tanh => Math.Tanh(v), _ => 1 / (1 + Math.Exp(-v)) };
            var derivative = (F(x[i] + 1e-4) - F(x[i] - 1e-4)) / 2e-4;
            Assert.Equal(dy[i] * derivative, dx[i], 3);
        }
    }

    [Fact]
    public void SoftmaxRows_LargeLogits_NoOverflowAndRowsSumToOne()
    {
        var p = new float[6];
        new CpuBackend(1).SoftmaxRows([1000f, 1001f, 1002f, -5f, 0f, 5f], 2, 3, p);
        Assert.All(p, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(1.0, p[0] + p[1] + p[2], 5);
        Assert.Equal(1.0, p[3] + p[4] + p[5], 5);
        Assert.True(p[2] > p[1] && p[1] > p[0]);
    }

    [Fact]
    public void AdamUpdate_FirstStep_MovesEachWeightByLearningRate()
    {
        // At t = 1 bias correction makes m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps) ~ lr * sign(g).
        var p = new float[19];
        var g = RandomArray(19, 8);
        var m = new float[19];
        var v = new float[19];
        new CpuBackend(1).AdamUpdate(p, g, m, v, 0.01f / (1 - 0.9f), 0.9f, 0.999f, 1e-8f, MathF.Sqrt(1 - 0.999f));
        for (var i = 0; i < p.Length; i++) Assert.Equal(-0.01 * Math.Sign(g[i]), p[i], 4);
    }

    [Fact]
    public void SgdUpdate_Momentum_AccumulatesVelocity()
    {
        var p = new float[9];
        var g = Enumerable.Repeat(1f, 9).ToArray();
        var vel = new float[9];
        var backend = new CpuBackend(1);
        backend.SgdUpdate(p, g, vel, 0.1f, 0.9f);
        backend.SgdUpdate(p, g, vel, 0.1f, 0.9f);
        Assert.All(vel, x => Assert.Equal(1.9f, x, 5));
        Assert.All(p, x => Assert.Equal(-0.29f, x, 5));
    }
}

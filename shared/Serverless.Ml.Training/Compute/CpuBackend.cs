using System.Numerics;
using System.Numerics.Tensors;

namespace Serverless.Ml.Training.Compute;

/// <summary>
/// The CPU implementation of <see cref="IComputeBackend"/>: a blocked, packed, multi-threaded GEMM with an
/// AVX2/FMA register kernel (scalar fallback elsewhere), and elementwise math on
/// <see cref="TensorPrimitives"/> / <see cref="Vector{T}"/> (SIMD). Thread-safe; results do not depend on the
/// degree of parallelism (see <see cref="IComputeBackend"/>'s determinism contract).
/// </summary>
public sealed unsafe class CpuBackend : IComputeBackend
{
    /// <summary>Creates a backend using at most <paramref name="degreeOfParallelism"/> threads (0: one per core).</summary>
    public CpuBackend(int degreeOfParallelism = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(degreeOfParallelism);
        DegreeOfParallelism = degreeOfParallelism == 0 ? Environment.ProcessorCount : degreeOfParallelism;
    }

    /// <summary>A shared backend with one thread per core.</summary>
    public static CpuBackend Default { get; } = new();

    /// <inheritdoc />
    public string Name => $"cpu-{(PackedGemm.IsVectorized ? "avx2fma" : "scalar")}-x{DegreeOfParallelism}";

    /// <inheritdoc />
    public int DegreeOfParallelism { get; }

    /// <inheritdoc />
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (m == 0 || n == 0) return;
        // Bounds checks once here, so the kernel can run on raw pointers.
        RequireMatrix(a.Length, transA ? k : m, transA ? m : k, lda, nameof(a));
        RequireMatrix(b.Length, transB ? n : k, transB ? k : n, ldb, nameof(b));
        RequireMatrix(c.Length, m, n, ldc, nameof(c));
        fixed (float* pa = a, pb = b, pc = c)
        {
            PackedGemm.Run(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, DegreeOfParallelism);
        }
    }

    /// <inheritdoc />
    public void AddRowVector(Span<float> matrix, int rows, int cols, ReadOnlySpan<float> row)
    {
        RequireMatrix(matrix.Length, rows, cols, cols, nameof(matrix));
        if (row.Length < cols) throw new ArgumentException("The row vector is shorter than a row.", nameof(row));
        row = row[..cols];
        for (var r = 0; r < rows; r++)
        {
            var dst = matrix.Slice(r * cols, cols);
            TensorPrimitives.Add(dst, row, dst);
        }
    }

    /// <inheritdoc />
    public void SumColumns(ReadOnlySpan<float> matrix, int rows, int cols, Span<float> destination)
    {
        RequireMatrix(matrix.Length, rows, cols, cols, nameof(matrix));
        if (destination.Length < cols) throw new ArgumentException("The destination is shorter than a row.", nameof(destination));
        destination = destination[..cols];
        destination.Clear();
        for (var r = 0; r < rows; r++) TensorPrimitives.Add(destination, matrix.Slice(r * cols, cols), destination);
    }

    /// <inheritdoc />
    public void Activate(Activation kind, ReadOnlySpan<float> x, Span<float> y)
    {
        switch (kind)
        {
            case Activation.Relu: TensorPrimitives.Max(x, 0f, y); break;
            case Activation.Tanh: TensorPrimitives.Tanh(x, y); break;
            case Activation.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown activation.");
        }
    }

    /// <inheritdoc />
    public void ActivateBackward(Activation kind, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (dy.Length < y.Length || dx.Length < y.Length) throw new ArgumentException("Spans must be as long as y.");
        var n = y.Length;
        var i = 0;
        var w = Vector<float>.Count;
        var one = Vector<float>.One;
        switch (kind)
        {
            case Activation.Relu:
                for (; i <= n - w; i += w)
                {
                    var vy = new Vector<float>(y[i..]);
                    Vector.ConditionalSelect(Vector.GreaterThan(vy, Vector<float>.Zero), new Vector<float>(dy[i..]), Vector<float>.Zero).CopyTo(dx[i..]);
                }
                for (; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0f;
                break;
            case Activation.Tanh:
                for (; i <= n - w; i += w)
                {
                    var vy = new Vector<float>(y[i..]);
                    (new Vector<float>(dy[i..]) * (one - vy * vy)).CopyTo(dx[i..]);
                }
                for (; i < n; i++) dx[i] = dy[i] * (1f - y[i] * y[i]);
                break;
            case Activation.Sigmoid:
                for (; i <= n - w; i += w)
                {
                    var vy = new Vector<float>(y[i..]);
                    (new Vector<float>(dy[i..]) * (vy * (one - vy))).CopyTo(dx[i..]);
                }
                for (; i < n; i++) dx[i] = dy[i] * (y[i] * (1f - y[i]));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown activation.");
        }
    }

    /// <inheritdoc />
    public void Multiply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination) => TensorPrimitives.Multiply(x, y, destination);

    /// <inheritdoc />
    public void SoftmaxRows(ReadOnlySpan<float> logits, int rows, int cols, Span<float> probabilities)
    {
        RequireMatrix(logits.Length, rows, cols, cols, nameof(logits));
        RequireMatrix(probabilities.Length, rows, cols, cols, nameof(probabilities));
        for (var r = 0; r < rows; r++)
        {
            var src = logits.Slice(r * cols, cols);
            var dst = probabilities.Slice(r * cols, cols);
            // Subtract the row maximum first so exp cannot overflow (TensorPrimitives.SoftMax does not).
            TensorPrimitives.Subtract(src, TensorPrimitives.Max(src), dst);
            TensorPrimitives.Exp(dst, dst);
            TensorPrimitives.Divide(dst, TensorPrimitives.Sum(dst), dst);
        }
    }

    /// <inheritdoc />
    public void AdamUpdate(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v,
        float stepSize, float beta1, float beta2, float epsilon, float sqrtBiasCorrection2)
    {
        var n = parameters.Length;
        if (gradients.Length < n || m.Length < n || v.Length < n) throw new ArgumentException("State spans must be as long as the parameters.");
        var w = Vector<float>.Count;
        var b1 = new Vector<float>(beta1);
        var b2 = new Vector<float>(beta2);
        var c1 = new Vector<float>(1 - beta1);
        var c2 = new Vector<float>(1 - beta2);
        var eps = new Vector<float>(epsilon);
        var bc2 = new Vector<float>(sqrtBiasCorrection2);
        var step = new Vector<float>(stepSize);
        var i = 0;
        for (; i <= n - w; i += w)
        {
            var g = new Vector<float>(gradients[i..]);
            var vm = b1 * new Vector<float>(m[i..]) + c1 * g;
            var vv = b2 * new Vector<float>(v[i..]) + c2 * (g * g);
            vm.CopyTo(m[i..]);
            vv.CopyTo(v[i..]);
            var denom = Vector.SquareRoot(vv) / bc2 + eps;
            (new Vector<float>(parameters[i..]) - step * (vm / denom)).CopyTo(parameters[i..]);
        }
        for (; i < n; i++)
        {
            var g = gradients[i];
            var mi = beta1 * m[i] + (1 - beta1) * g;
            var vi = beta2 * v[i] + (1 - beta2) * (g * g);
            m[i] = mi;
            v[i] = vi;
            parameters[i] -= stepSize * (mi / (MathF.Sqrt(vi) / sqrtBiasCorrection2 + epsilon));
        }
    }

    /// <inheritdoc />
    public void SgdUpdate(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> velocity, float learningRate, float momentum)
    {
        var n = parameters.Length;
        if (gradients.Length < n || velocity.Length < n) throw new ArgumentException("State spans must be as long as the parameters.");
        var w = Vector<float>.Count;
        var mu = new Vector<float>(momentum);
        var lr = new Vector<float>(learningRate);
        var i = 0;
        for (; i <= n - w; i += w)
        {
            var buf = mu * new Vector<float>(velocity[i..]) + new Vector<float>(gradients[i..]);
            buf.CopyTo(velocity[i..]);
            (new Vector<float>(parameters[i..]) - lr * buf).CopyTo(parameters[i..]);
        }
        for (; i < n; i++)
        {
            var buf = momentum * velocity[i] + gradients[i];
            velocity[i] = buf;
            parameters[i] -= learningRate * buf;
        }
    }

    private static void RequireMatrix(int length, int rows, int cols, int ld, string name)
    {
        if (ld < cols) throw new ArgumentException($"Leading dimension {ld} is less than the {cols} columns.", name);
        if (rows > 0 && (long)(rows - 1) * ld + cols > length)
            throw new ArgumentException($"A {rows} x {cols} matrix with leading dimension {ld} does not fit in {length} elements.", name);
    }
}

namespace Serverless.Ml.Training.Compute;

/// <summary>
/// The math a network needs, behind one port so that the training code does not care where it runs: the CPU
/// backend (<see cref="CpuBackend"/>) today, a GPU backend later. Matrices are row-major, float32.
/// </summary>
/// <remarks>
/// Determinism contract: for the same inputs an implementation returns bit-identical results on every call,
/// whatever its degree of parallelism. Reductions therefore run in a fixed order, and parallel work is split so
/// that each output element is computed by exactly one worker in a fixed order of operations.
/// </remarks>
public interface IComputeBackend
{
    /// <summary>Short name for logs and benchmark output, e.g. <c>cpu-avx2x2</c>.</summary>
    string Name { get; }

    /// <summary>How many threads the backend uses at most.</summary>
    int DegreeOfParallelism { get; }

    /// <summary>
    /// General matrix multiply: <c>C = alpha * op(A) * op(B) + beta * C</c>, op(A) is m x k, op(B) is k x n, C is
    /// m x n. <paramref name="transA"/>/<paramref name="transB"/> read A/B transposed, so backward passes need no
    /// explicit transposes. When <paramref name="beta"/> is 0, C is not read (it may hold garbage).
    /// </summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc);

    /// <summary>Adds <paramref name="row"/> to every row of a rows x cols matrix (bias).</summary>
    void AddRowVector(Span<float> matrix, int rows, int cols, ReadOnlySpan<float> row);

    /// <summary>Column sums of a rows x cols matrix into <paramref name="destination"/> (bias gradients), rows in order.</summary>
    void SumColumns(ReadOnlySpan<float> matrix, int rows, int cols, Span<float> destination);

    /// <summary>Elementwise activation <paramref name="kind"/> of x into y.</summary>
    void Activate(Activation kind, ReadOnlySpan<float> x, Span<float> y);

    /// <summary>Backward of an activation from its output y: <c>dx = dy * f'(x)</c>.</summary>
    void ActivateBackward(Activation kind, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx);

    /// <summary>Elementwise product.</summary>
    void Multiply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination);

    /// <summary>Row-wise softmax of a rows x cols matrix.</summary>
    void SoftmaxRows(ReadOnlySpan<float> logits, int rows, int cols, Span<float> probabilities);

    /// <summary>
    /// One Adam update (PyTorch's form): <c>m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    /// p -= stepSize * m / (sqrt(v) / sqrtBiasCorrection2 + eps)</c>, stepSize = lr / (1 - b1^t).
    /// </summary>
    void AdamUpdate(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v,
        float stepSize, float beta1, float beta2, float epsilon, float sqrtBiasCorrection2);

    /// <summary>One SGD-with-momentum update (PyTorch's form): <c>buf = mu buf + g; p -= lr buf</c>.</summary>
    void SgdUpdate(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> velocity, float learningRate, float momentum);
}

/// <summary>Elementwise activation functions.</summary>
public enum Activation
{
    /// <summary>max(x, 0).</summary>
    Relu,

    /// <summary>Hyperbolic tangent.</summary>
    Tanh,

    /// <summary>Logistic sigmoid 1 / (1 + e^-x).</summary>
    Sigmoid,
}

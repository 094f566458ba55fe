using Serverless.Ml.Training.Compute;

namespace Serverless.Ml.Training.Models;

/// <summary>What a forward pass needs besides its input: the backend, training mode, and the random stream.</summary>
internal readonly record struct PassContext(IComputeBackend Backend, bool Training, ulong Seed, long Step);

/// <summary>
/// One layer of a sequential network. Per-sample sizes are fixed; batches are row-major [batch, size]. Forward
/// keeps whatever Backward needs (masks, argmax, im2col) in the layer, so a layer serves one pass at a time.
/// Backward overwrites (not accumulates) parameter gradients.
/// </summary>
internal abstract class Layer
{
    public abstract int InputSize { get; }

    public abstract int OutputSize { get; }

    public virtual IReadOnlyList<Parameter> Parameters => [];

    public abstract void Forward(in PassContext ctx, ReadOnlySpan<float> input, Span<float> output, int batch);

    /// <summary>Parameter gradients from dOutput; dInput too unless it is empty (first layer).</summary>
    public abstract void Backward(in PassContext ctx, ReadOnlySpan<float> input, ReadOnlySpan<float> output,
        ReadOnlySpan<float> dOutput, Span<float> dInput, int batch);

    /// <summary>Kaiming-uniform with a = sqrt(5), PyTorch's default for Linear and Conv2d: U(-1/sqrt(fanIn), 1/sqrt(fanIn)).</summary>
    protected static void InitUniform(float[] values, int fanIn, DeterministicRandom rng)
    {
        var bound = 1f / MathF.Sqrt(fanIn);
        for (var i = 0; i < values.Length; i++) values[i] = rng.NextFloat(-bound, bound);
    }
}

/// <summary>y = x W + b with W [in, out] (ONNX Gemm's B without transpose).</summary>
internal sealed class DenseLayer : Layer
{
    public DenseLayer(string name, int inputs, int outputs, DeterministicRandom rng)
    {
        InputSize = inputs;
        OutputSize = outputs;
        Weight = new Parameter(name + ".weight", inputs, outputs);
        Bias = new Parameter(name + ".bias", outputs);
        InitUniform(Weight.Value, inputs, rng);
        InitUniform(Bias.Value, inputs, rng);
    }

    public Parameter Weight { get; }

    public Parameter Bias { get; }

    public override int InputSize { get; }

    public override int OutputSize { get; }

    public override IReadOnlyList<Parameter> Parameters => [Weight, Bias];

    public override void Forward(in PassContext ctx, ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        ctx.Backend.Gemm(false, false, batch, OutputSize, InputSize, 1f, input, InputSize, Weight.Value, OutputSize, 0f, output, OutputSize);
        ctx.Backend.AddRowVector(output, batch, OutputSize, Bias.Value);
    }

    public override void Backward(in PassContext ctx, ReadOnlySpan<float> input, ReadOnlySpan<float> output,
        ReadOnlySpan<float> dOutput, Span<float> dInput, int batch)
    {
        // dW = x^T dy, db = column sums of dy, dx = dy W^T.
        ctx.Backend.Gemm(true, false, InputSize, OutputSize, batch, 1f, input, InputSize, dOutput, OutputSize, 0f, Weight.Gradient, OutputSize);
        ctx.Backend.SumColumns(dOutput, batch, OutputSize, Bias.Gradient);
        if (!dInput.IsEmpty)
            ctx.Backend.Gemm(false, true, batch, InputSize, OutputSize, 1f, dOutput, OutputSize, Weight.Value, OutputSize, 0f, dInput, InputSize);
    }
}

/// <summary>Elementwise activation.</summary>
internal sealed class ActivationLayer(Activation kind, int size) : Layer
{
    public Activation Kind { get; } = kind;

    public override int InputSize { get; } = size;

    public override int OutputSize { get; } = size;

    public override void Forward(in PassContext ctx, ReadOnlySpan<float> input, Span<float> output, int batch) =>
        ctx.Backend.Activate(Kind, input[..(batch * InputSize)], output);

    public override void Backward(in PassContext ctx, ReadOnlySpan<float> input, ReadOnlySpan<float> output,
        ReadOnlySpan<float> dOutput, Span<float> dInput, int batch)
    {
        if (!dInput.IsEmpty) ctx.Backend.ActivateBackward(Kind, output[..(batch * InputSize)], dOutput, dInput);
    }
}

/// <summary>
/// Inverted dropout: in training each element is kept with probability 1 - rate and scaled by 1 / (1 - rate);
/// at inference it is the identity (so export drops it). The mask of step t comes from a generator derived from
/// (seed, layer, t), so it is the same after a resume.
/// </summary>
internal sealed class DropoutLayer(float rate, int size, int index) : Layer
{
    private float[] _mask = [];

    public float Rate { get; } = rate;

    public override int InputSize { get; } = size;

    public override int OutputSize { get; } = size;

    public override void Forward(in PassContext ctx, ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        var n = batch * InputSize;
        if (!ctx.Training || Rate == 0)
        {
            input[..n].CopyTo(output);
            return;
        }
        if (_mask.Length < n) _mask = new float[n];
        var rng = DeterministicRandom.Derive(ctx.Seed, 1000UL + (ulong)index, (ulong)ctx.Step);
        var scale = 1f / (1f - Rate);
        for (var i = 0; i < n; i++) _mask[i] = rng.NextFloat() >= Rate ? scale : 0f;
        ctx.Backend.Multiply(input[..n], _mask.AsSpan(0, n), output);
    }

    public override void Backward(in PassContext ctx, ReadOnlySpan<float> input, ReadOnlySpan<float> output,
        ReadOnlySpan<float> dOutput, Span<float> dInput, int batch)
    {
        if (dInput.IsEmpty) return;
        var n = batch * InputSize;
        if (!ctx.Training || Rate == 0) dOutput[..n].CopyTo(dInput);
        else ctx.Backend.Multiply(dOutput[..n], _mask.AsSpan(0, n), dInput);
    }
}

/// <summary>
/// 2-D convolution, stride 1, "same" zero padding (kernel / 2), on [batch, C, H, W] via im2col over the whole batch:
/// one large GEMM per pass instead of one tiny GEMM per image, so the parallel GEMM has work to split.
/// Weight [M, C, k, k] (ONNX Conv's layout) doubles as the GEMM's [M, C*k*k] matrix.
/// </summary>
internal sealed class Conv2dLayer : Layer
{
    private float[] _cols = [];
    private float[] _out = [];

    public Conv2dLayer(string name, int channels, int height, int width, int filters, int kernel, DeterministicRandom rng)
    {
        C = channels; H = height; W = width; M = filters; K = kernel; Pad = kernel / 2;
        Weight = new Parameter(name + ".weight", filters, channels, kernel, kernel);
        Bias = new Parameter(name + ".bias", filters);
        InitUniform(Weight.Value, channels * kernel * kernel, rng);
        InitUniform(Bias.Value, channels * kernel * kernel, rng);
    }

    public int C { get; }

    public int H { get; }

    public int W { get; }

    public int M { get; }

    public int K { get; }

    public int Pad { get; }

    public Parameter Weight { get; }

    public Parameter Bias { get; }

    private int Ckk => C * K * K;

    private int HW => H * W; // output size equals input size ("same" padding, stride 1)

    public override int InputSize => C * H * W;

    public override int OutputSize => M * H * W;

    public override IReadOnlyList<Parameter> Parameters => [Weight, Bias];

    public override void Forward(in PassContext ctx, ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        var cols = batch * HW;
        if (_cols.Length < Ckk * cols) _cols = new float[Ckk * cols];
        if (_out.Length < M * cols) _out = new float[M * cols];
        Im2Col(input, batch, _cols);
        ctx.Backend.Gemm(false, false, M, cols, Ckk, 1f, Weight.Value, Ckk, _cols, cols, 0f, _out, cols);
        // [M, batch*HW] -> [batch, M, HW] plus bias.
        for (var n = 0; n < batch; n++)
        {
            for (var m = 0; m < M; m++)
            {
                var src = _out.AsSpan(m * cols + n * HW, HW);
                var dst = output.Slice((n * M + m) * HW, HW);
                var b = Bias.Value[m];
                for (var i = 0; i < HW; i++) dst[i] = src[i] + b;
            }
        }
    }

    public override void Backward(in PassContext ctx, ReadOnlySpan<float> input, ReadOnlySpan<float> output,
        ReadOnlySpan<float> dOutput, Span<float> dInput, int batch)
    {
        var cols = batch * HW;
        // dOut' [M, batch*HW] into _out (the forward result is no longer needed), bias gradient in fixed order.
        for (var m = 0; m < M; m++)
        {
            var sum = 0f;
            for (var n = 0; n < batch; n++)
            {
                var src = dOutput.Slice((n * M + m) * HW, HW);
                src.CopyTo(_out.AsSpan(m * cols + n * HW, HW));
                for (var i = 0; i < HW; i++) sum += src[i];
            }
            Bias.Gradient[m] = sum;
        }
        ctx.Backend.Gemm(false, true, M, Ckk, cols, 1f, _out, cols, _cols, cols, 0f, Weight.Gradient, Ckk);
        if (dInput.IsEmpty) return;
        ctx.Backend.Gemm(true, false, Ckk, cols, M, 1f, Weight.Value, Ckk, _out, cols, 0f, _cols, cols);
        Col2Im(_cols, batch, dInput);
    }

    // cols[(c*K + ki)*K + kj, n*HW + oh*W + ow] = x[n, c, oh + ki - pad, ow + kj - pad] (0 outside).
    private void Im2Col(ReadOnlySpan<float> x, int batch, Span<float> colsBuffer)
    {
        var cols = batch * HW;
        for (var c = 0; c < C; c++)
        for (var ki = 0; ki < K; ki++)
        for (var kj = 0; kj < K; kj++)
        {
            var row = colsBuffer.Slice(((c * K + ki) * K + kj) * cols, cols);
            for (var n = 0; n < batch; n++)
            {
                var img = x.Slice((n * C + c) * HW, HW);
                for (var oh = 0; oh < H; oh++)
                {
                    var ih = oh + ki - Pad;
                    var dst = row.Slice(n * HW + oh * W, W);
                    if ((uint)ih >= (uint)H)
                    {
                        dst.Clear();
                        continue;
                    }
                    var shift = kj - Pad;
                    var lo = Math.Max(0, -shift);
                    var hi = Math.Min(W, W - shift);
                    dst[..lo].Clear();
                    img.Slice(ih * W + lo + shift, hi - lo).CopyTo(dst[lo..hi]);
                    dst[hi..].Clear();
                }
            }
        }
    }

    private void Col2Im(ReadOnlySpan<float> colsBuffer, int batch, Span<float> dx)
    {
        var cols = batch * HW;
        dx[..(batch * InputSize)].Clear();
        for (var c = 0; c < C; c++)
        for (var ki = 0; ki < K; ki++)
        for (var kj = 0; kj < K; kj++)
        {
            var row = colsBuffer.Slice(((c * K + ki) * K + kj) * cols, cols);
            for (var n = 0; n < batch; n++)
            {
                var img = dx.Slice((n * C + c) * HW, HW);
                for (var oh = 0; oh < H; oh++)
                {
                    var ih = oh + ki - Pad;
                    if ((uint)ih >= (uint)H) continue;
                    var shift = kj - Pad;
                    var lo = Math.Max(0, -shift);
                    var hi = Math.Min(W, W - shift);
                    var src = row.Slice(n * HW + oh * W, W);
                    var at = ih * W + shift;
                    for (var ow = lo; ow < hi; ow++) img[at + ow] += src[ow];
                }
            }
        }
    }
}

/// <summary>Max pooling with a square window and equal stride (2x2, stride 2 here), floor mode like ONNX's default.</summary>
internal sealed class MaxPool2dLayer(int channels, int height, int width, int size) : Layer
{
    private int[] _argmax = [];

    public int C { get; } = channels;

    public int H { get; } = height;

    public int W { get; } = width;

    public int Size { get; } = size;

    public int OutH => H / Size;

    public int OutW => W / Size;

    public override int InputSize => C * H * W;

    public override int OutputSize => C * OutH * OutW;

    public override void Forward(in PassContext ctx, ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        var n = batch * OutputSize;
        if (_argmax.Length < n) _argmax = new int[n];
        var o = 0;
        for (var plane = 0; plane < batch * C; plane++)
        {
            var baseIndex = plane * H * W;
            for (var oh = 0; oh < OutH; oh++)
            for (var ow = 0; ow < OutW; ow++)
            {
                var best = baseIndex + oh * Size * W + ow * Size;
                var bestValue = input[best];
                for (var i = 0; i < Size; i++)
                for (var j = 0; j < Size; j++)
                {
                    var idx = baseIndex + (oh * Size + i) * W + ow * Size + j;
                    if (input[idx] > bestValue) { bestValue = input[idx]; best = idx; }
                }
                output[o] = bestValue;
                _argmax[o++] = best;
            }
        }
    }

    public override void Backward(in PassContext ctx, ReadOnlySpan<float> input, ReadOnlySpan<float> output,
        ReadOnlySpan<float> dOutput, Span<float> dInput, int batch)
    {
        if (dInput.IsEmpty) return;
        dInput[..(batch * InputSize)].Clear();
        var n = batch * OutputSize;
        for (var o = 0; o < n; o++) dInput[_argmax[o]] += dOutput[o];
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Serverless.Ml.Training.Compute;

/// <summary>
/// A blocked, packed single-precision GEMM in the style of Goto/BLIS: C is cut into tiles, each tile is one task;
/// a task walks K in fixed blocks of <see cref="KC"/>, packs its slice of op(A) into MR-row panels and its slice of
/// op(B) into NR-column panels (which also makes transposes free), and runs an MR x NR register-blocked FMA kernel.
/// </summary>
/// <remarks>
/// Why it is deterministic under any thread count: every element of C is computed by exactly one task, from k = 0
/// upwards, in K blocks whose size does not depend on the split, with the same kernel and the same update formula
/// for full and partial tiles. So the tile plan (which adapts to the thread count for load balance) changes who
/// computes an element, never how.
/// </remarks>
internal static unsafe class PackedGemm
{
    internal const int MR = 6, NR = 16, KC = 256, NCMax = 512, MCMax = 120;

    // Below this many multiply-adds a parallel split costs more than it saves.
    private const long ParallelThreshold = 1L << 18;

    [ThreadStatic] private static float[]? t_packA;
    [ThreadStatic] private static float[]? t_packB;

    /// <summary>True when the AVX2 + FMA kernel runs; otherwise a scalar kernel with the same blocking.</summary>
    internal static bool IsVectorized => Fma.IsSupported && Avx2.IsSupported;

    private readonly struct Job
    {
        public readonly nint A, B, C;
        public readonly int M, N, K, Lda, Ldb, Ldc, MChunk, NChunk, ColTiles;
        public readonly bool TransA, TransB;
        public readonly float Alpha, Beta;

        public Job(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta,
            float* c, int ldc, int mChunk, int nChunk, int colTiles)
        {
            TransA = transA; TransB = transB; M = m; N = n; K = k; Alpha = alpha; Beta = beta;
            A = (nint)a; B = (nint)b; C = (nint)c; Lda = lda; Ldb = ldb; Ldc = ldc;
            MChunk = mChunk; NChunk = nChunk; ColTiles = colTiles;
        }
    }

    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
        float beta, float* c, int ldc, int degreeOfParallelism)
    {
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0)
        {
            for (var i = 0; i < m; i++)
            {
                var row = new Span<float>(c + (long)i * ldc, n);
                if (beta == 0) row.Clear();
                else if (beta != 1) for (var j = 0; j < n; j++) row[j] *= beta;
            }
            return;
        }

        var dop = (long)m * n * k < ParallelThreshold ? 1 : Math.Max(1, degreeOfParallelism);
        var colTiles = Ceil(n, NCMax);
        var rowTiles = Ceil(m, MCMax);
        if (dop > 1)
        {
            // Enough tiles to keep every thread busy, and a multiple of the thread count when m allows it.
            rowTiles = Math.Max(rowTiles, Ceil(2 * dop, colTiles));
            var maxRowTiles = Ceil(m, MR);
            while ((rowTiles * colTiles) % dop != 0 && rowTiles < maxRowTiles) rowTiles++;
            rowTiles = Math.Min(rowTiles, maxRowTiles);
        }
        var mChunk = RoundUp(Ceil(m, rowTiles), MR);
        rowTiles = Ceil(m, mChunk);
        var nChunk = RoundUp(Ceil(n, colTiles), NR);
        colTiles = Ceil(n, nChunk);

        var job = new Job(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, mChunk, nChunk, colTiles);
        var tasks = rowTiles * colTiles;
        if (dop == 1 || tasks == 1)
        {
            for (var t = 0; t < tasks; t++) Tile(job, t);
        }
        else
        {
            Parallel.For(0, tasks, new ParallelOptions { MaxDegreeOfParallelism = dop }, t => Tile(job, t));
        }
    }

    private static void Tile(in Job job, int task)
    {
        var i0 = task / job.ColTiles * job.MChunk;
        var j0 = task % job.ColTiles * job.NChunk;
        var iLen = Math.Min(job.MChunk, job.M - i0);
        var jLen = Math.Min(job.NChunk, job.N - j0);
        var packA = t_packA ??= GC.AllocateUninitializedArray<float>(MCMax * KC, pinned: true);
        var packB = t_packB ??= GC.AllocateUninitializedArray<float>(KC * NCMax, pinned: true);
        var a = (float*)job.A;
        var b = (float*)job.B;
        var c = (float*)job.C;
        fixed (float* pa = packA, pb = packB)
        {
            for (var pc = 0; pc < job.K; pc += KC)
            {
                var kc = Math.Min(KC, job.K - pc);
                PackB(job.TransB, b, job.Ldb, pc, kc, j0, jLen, pb);
                PackA(job.TransA, a, job.Lda, i0, iLen, pc, kc, pa);
                var beta = pc == 0 ? job.Beta : 1f;
                for (var jr = 0; jr < jLen; jr += NR)
                {
                    var nr = Math.Min(NR, jLen - jr);
                    var bp = pb + (long)(jr / NR) * kc * NR;
                    for (var ir = 0; ir < iLen; ir += MR)
                    {
                        var mr = Math.Min(MR, iLen - ir);
                        var ap = pa + (long)(ir / MR) * kc * MR;
                        var cp = c + (long)(i0 + ir) * job.Ldc + j0 + jr;
                        if (IsVectorized) KernelAvx2(kc, ap, bp, cp, job.Ldc, mr, nr, job.Alpha, beta);
                        else KernelScalar(kc, ap, bp, cp, job.Ldc, mr, nr, job.Alpha, beta);
                    }
                }
            }
        }
    }

    // op(A)[i, p] for i in [i0, i0+iLen), p in [pc, pc+kc) into panels of MR rows: panel[p * MR + r], zero-padded.
    private static void PackA(bool transA, float* a, int lda, int i0, int iLen, int pc, int kc, float* dst)
    {
        for (var ir = 0; ir < iLen; ir += MR)
        {
            var mr = Math.Min(MR, iLen - ir);
            var panel = dst + (long)(ir / MR) * kc * MR;
            if (!transA)
            {
                for (var r = 0; r < MR; r++)
                {
                    if (r < mr)
                    {
                        var src = a + (long)(i0 + ir + r) * lda + pc;
                        for (var p = 0; p < kc; p++) panel[p * MR + r] = src[p];
                    }
                    else
                    {
                        for (var p = 0; p < kc; p++) panel[p * MR + r] = 0f;
                    }
                }
            }
            else
            {
                for (var p = 0; p < kc; p++)
                {
                    var src = a + (long)(pc + p) * lda + i0 + ir;
                    var d = panel + p * MR;
                    var r = 0;
                    for (; r < mr; r++) d[r] = src[r];
                    for (; r < MR; r++) d[r] = 0f;
                }
            }
        }
    }

    // op(B)[p, j] for p in [pc, pc+kc), j in [j0, j0+jLen) into panels of NR columns: panel[p * NR + c], zero-padded.
    private static void PackB(bool transB, float* b, int ldb, int pc, int kc, int j0, int jLen, float* dst)
    {
        for (var jr = 0; jr < jLen; jr += NR)
        {
            var nr = Math.Min(NR, jLen - jr);
            var panel = dst + (long)(jr / NR) * kc * NR;
            if (!transB)
            {
                for (var p = 0; p < kc; p++)
                {
                    var src = b + (long)(pc + p) * ldb + j0 + jr;
                    var d = panel + p * NR;
                    if (nr == NR)
                    {
                        Unsafe.CopyBlockUnaligned(d, src, NR * sizeof(float));
                    }
                    else
                    {
                        var x = 0;
                        for (; x < nr; x++) d[x] = src[x];
                        for (; x < NR; x++) d[x] = 0f;
                    }
                }
            }
            else
            {
                for (var x = 0; x < NR; x++)
                {
                    if (x < nr)
                    {
                        var src = b + (long)(j0 + jr + x) * ldb + pc;
                        for (var p = 0; p < kc; p++) panel[p * NR + x] = src[p];
                    }
                    else
                    {
                        for (var p = 0; p < kc; p++) panel[p * NR + x] = 0f;
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelAvx2(int kc, float* a, float* b, float* c, int ldc, int mr, int nr, float alpha, float beta)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var x = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
            a += MR;
            b += NR;
        }
        if (mr == MR && nr == NR)
        {
            var va = Vector256.Create(alpha);
            var vb = Vector256.Create(beta);
            Store(c, c00, c01, va, vb, beta);
            Store(c + ldc, c10, c11, va, vb, beta);
            Store(c + 2L * ldc, c20, c21, va, vb, beta);
            Store(c + 3L * ldc, c30, c31, va, vb, beta);
            Store(c + 4L * ldc, c40, c41, va, vb, beta);
            Store(c + 5L * ldc, c50, c51, va, vb, beta);
            return;
        }
        var tile = stackalloc float[MR * NR];
        Avx.Store(tile, c00); Avx.Store(tile + 8, c01);
        Avx.Store(tile + 16, c10); Avx.Store(tile + 24, c11);
        Avx.Store(tile + 32, c20); Avx.Store(tile + 40, c21);
        Avx.Store(tile + 48, c30); Avx.Store(tile + 56, c31);
        Avx.Store(tile + 64, c40); Avx.Store(tile + 72, c41);
        Avx.Store(tile + 80, c50); Avx.Store(tile + 88, c51);
        UpdatePartial(tile, c, ldc, mr, nr, alpha, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> lo, Vector256<float> hi, Vector256<float> alpha, Vector256<float> vbeta, float beta)
    {
        // Same operations, in the same order, as UpdatePartial's scalar formula: alpha*acc, then + beta*c.
        lo = Avx.Multiply(lo, alpha);
        hi = Avx.Multiply(hi, alpha);
        if (beta != 0)
        {
            lo = Avx.Add(lo, beta == 1 ? Avx.LoadVector256(c) : Avx.Multiply(Avx.LoadVector256(c), vbeta));
            hi = Avx.Add(hi, beta == 1 ? Avx.LoadVector256(c + 8) : Avx.Multiply(Avx.LoadVector256(c + 8), vbeta));
        }
        Avx.Store(c, lo);
        Avx.Store(c + 8, hi);
    }

    private static void KernelScalar(int kc, float* a, float* b, float* c, int ldc, int mr, int nr, float alpha, float beta)
    {
        var tile = stackalloc float[MR * NR];
        new Span<float>(tile, MR * NR).Clear();
        for (var p = 0; p < kc; p++)
        {
            for (var r = 0; r < MR; r++)
            {
                var x = a[r];
                var t = tile + r * NR;
                for (var j = 0; j < NR; j++) t[j] += x * b[j];
            }
            a += MR;
            b += NR;
        }
        UpdatePartial(tile, c, ldc, mr, nr, alpha, beta);
    }

    private static void UpdatePartial(float* tile, float* c, int ldc, int mr, int nr, float alpha, float beta)
    {
        for (var r = 0; r < mr; r++)
        {
            var row = c + (long)r * ldc;
            var t = tile + r * NR;
            for (var j = 0; j < nr; j++)
            {
                var v = t[j] * alpha;
                if (beta != 0) v += beta == 1 ? row[j] : row[j] * beta;
                row[j] = v;
            }
        }
    }

    private static int Ceil(int x, int d) => (x + d - 1) / d;

    private static int RoundUp(int x, int d) => Ceil(x, d) * d;
}

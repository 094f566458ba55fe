namespace Serverless.Ml.Onnx.Tests;

// In-process C# reference computations the workout compares ONNX Runtime against.
internal static class Reference
{
    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new System.Random(seed);
        var a = new float[n];
        for (var i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    public static double[] RandomDoubles(int n, int seed, double scale = 1)
    {
        var rng = new System.Random(seed);
        var a = new double[n];
        for (var i = 0; i < n; i++) a[i] = (rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    /// <summary>[m,k] x [k,n] (+ bias [n]).</summary>
    public static float[] MatMul(float[] a, float[] b, int m, int k, int n, float[]? bias = null, bool transB = false)
    {
        var c = new float[m * n];
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                double s = bias?[j] ?? 0;
                for (var t = 0; t < k; t++) s += (double)a[i * k + t] * (transB ? b[j * k + t] : b[t * n + j]);
                c[i * n + j] = (float)s;
            }
        return c;
    }

    public static float[] Map(float[] x, Func<float, float> f) => x.Select(f).ToArray();

    public static float[] Zip(float[] a, float[] b, Func<float, float, float> f) => a.Zip(b, f).ToArray();

    public static float[] SoftmaxRows(float[] x, int rows, int cols)
    {
        var y = new float[x.Length];
        for (var r = 0; r < rows; r++)
        {
            var max = double.NegativeInfinity;
            for (var c = 0; c < cols; c++) max = Math.Max(max, x[r * cols + c]);
            double sum = 0;
            for (var c = 0; c < cols; c++) sum += Math.Exp(x[r * cols + c] - max);
            for (var c = 0; c < cols; c++) y[r * cols + c] = (float)(Math.Exp(x[r * cols + c] - max) / sum);
        }
        return y;
    }

    public static float Sigmoid(float v) => (float)(1 / (1 + Math.Exp(-v)));
}

using System.Diagnostics;
using System.Globalization;
using Serverless.Ml.Data;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Transform;

namespace Benchmarks.Suites;

/// <summary>
/// Transform: <c>transform_rows_per_s</c> is one full pass fit (all analyzers) plus the in-process apply of the same
/// rows, over a synthetic table (1M rows, <c>--quick</c> 100k; <c>--rows N</c>) of 4 float64, 2 int64 and 3 string
/// columns with 5% missing, in 65,536-row batches generated before the clock starts. <c>onnx_transform_rows_per_s</c>
/// runs the exported transform graph in ONNX Runtime at batch 1024 (<c>--threads N</c> intra-op threads, default 1).
/// </summary>
public sealed class TransformSuite : IBenchmarkSuite
{
    private const int BatchRows = 65_536;

    /// <inheritdoc />
    public string Name => "transform";

    /// <inheritdoc />
    public Task RunAsync(BenchmarkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var rows = int.Parse(context.Options.Get("rows", context.Options.Quick ? "100000" : "1000000"), CultureInfo.InvariantCulture);
        var threads = int.Parse(context.Options.Get("threads", "1"), CultureInfo.InvariantCulture);
        var seconds = context.Options.Quick ? 1.0 : 3.0;
        var batches = MakeTable(rows);
        var schema = batches[0].Schema;
        var estimator = new TransformEstimator(Spec());

        // Warm-up on one batch so JIT time is not measured.
        estimator.Fit(schema, batches.Take(1)).Apply(batches[0]);

        var sw = Stopwatch.StartNew();
        var fitted = estimator.Fit(schema, batches);
        var fitSeconds = sw.Elapsed.TotalSeconds;
        long checksum = 0;
        foreach (var b in batches) checksum += fitted.Apply(b).Rows;
        sw.Stop();
        if (checksum != rows) throw new InvalidOperationException("row count mismatch");
        var extra = new Dictionary<string, object> { ["rows"] = rows, ["width"] = fitted.Width, ["features"] = fitted.Features.Count };
        context.Report("transform_rows_per_s", rows / sw.Elapsed.TotalSeconds, "rows/s", extra);
        context.Report("transform_fit_rows_per_s", rows / fitSeconds, "rows/s", extra);
        context.Report("transform_apply_rows_per_s", rows / (sw.Elapsed.TotalSeconds - fitSeconds), "rows/s", extra);

        using var session = InferenceSession.FromBytes(fitted.ExportOnnx(), new InferenceSessionOptions { IntraOpThreads = threads });
        var slice = batches[0].Select(Enumerable.Range(0, 1024).ToArray());
        var inputs = fitted.ToOnnxInputs(slice);
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 0.25) session.Run(inputs);
        long runs = 0;
        sw.Restart();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            session.Run(inputs);
            runs++;
        }
        sw.Stop();
        context.Report("onnx_transform_rows_per_s", runs * 1024 / sw.Elapsed.TotalSeconds, "rows/s",
            new Dictionary<string, object> { ["batch"] = 1024, ["threads"] = threads, ["width"] = fitted.Width, ["ort"] = InferenceSession.RuntimeVersion });
        return Task.CompletedTask;
    }

    private static TransformSpec Spec() => new()
    {
        Features =
        [
            new() { Name = "f0", Kind = FeatureKind.ZScore },
            new() { Name = "f1", Kind = FeatureKind.MinMax, Fill = new(FillStrategy.Median) },
            new() { Name = "f2", Kind = FeatureKind.ZScore, Clip = new(0, null), Log1p = true },
            new() { Name = "f3", Kind = FeatureKind.Bucketize, NumBuckets = 10 },
            new() { Name = "i0", Kind = FeatureKind.Vocabulary, TopK = 20, NumOovBuckets = 2 },
            new() { Name = "i1", Kind = FeatureKind.Hash, HashBuckets = 16 },
            new() { Name = "s0", Kind = FeatureKind.Vocabulary, NumOovBuckets = 1 },
            new() { Name = "s1", Kind = FeatureKind.Vocabulary, TopK = 50, NumOovBuckets = 2, Fill = new(FillStrategy.Mode) },
            new() { Name = "s2", Kind = FeatureKind.Hash, HashBuckets = 32, Encode = CategoricalEncoding.Index },
            new() { Name = "s0_x_f3", Kind = FeatureKind.Cross, Components = ["s0", "f3"], HashBuckets = 64 },
        ],
    };

    private static List<RecordBatch> MakeTable(int rows)
    {
        var rng = new Random(42);
        var schema = new TableSchema(
        [
            new("f0", ColumnKind.Float64), new("f1", ColumnKind.Float64), new("f2", ColumnKind.Float64), new("f3", ColumnKind.Float64),
            new("i0", ColumnKind.Int64), new("i1", ColumnKind.Int64),
            new("s0", ColumnKind.String), new("s1", ColumnKind.String), new("s2", ColumnKind.String),
        ]);
        var dictionaries = new[] { 10, 100, 1000 }.Select(n => Enumerable.Range(0, n).Select(i => $"tok{i:D4}").ToArray()).ToArray();
        var result = new List<RecordBatch>();
        for (var start = 0; start < rows; start += BatchRows)
        {
            var n = Math.Min(BatchRows, rows - start);
            var cols = new List<Column>();
            bool[] Missing() => Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.05).ToArray();
            for (var c = 0; c < 4; c++)
                cols.Add(new Float64Column(schema.Columns[c], Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 100 * (c + 1) - 10).ToArray(), Missing(), n));
            for (var c = 0; c < 2; c++)
                cols.Add(new Int64Column(schema.Columns[4 + c], Enumerable.Range(0, n).Select(_ => (long)(rng.NextDouble() * rng.NextDouble() * 500)).ToArray(), Missing(), n));
            for (var c = 0; c < 3; c++)
            {
                var dict = dictionaries[c];
                var codes = Enumerable.Range(0, n).Select(_ => (int)(rng.NextDouble() * rng.NextDouble() * dict.Length)).ToArray();
                cols.Add(new StringColumn(schema.Columns[6 + c], codes, dict, Missing(), n));
            }
            result.Add(new RecordBatch(schema, cols, n));
        }
        return result;
    }
}

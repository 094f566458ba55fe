using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Ml.Data.Csv;
using Serverless.Ml.Data.Statistics;

namespace Serverless.Ml.Data.Tests;

/// <summary>
/// Issue 16 item 3: the standard (equal-width) histogram counts every value exactly, whatever the data size (it used to
/// be read off the KLL sketch, which lost tail rows beyond 4,096 values). Checked against numpy.histogram on the
/// very edges we report.
/// </summary>
public sealed class HistogramTests : IDisposable
{
    /// <summary>The size of the data set the independent check used (diamonds).</summary>
    private const int Rows = 53_940;

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// A skewed data set: a log-normal price (long right tail: the top buckets hold a handful of rows), an integer
    /// count with a few huge outliers, and a float with missing values and NaNs.
    /// </summary>
    private string SkewedCsv(int rows, int seed = 11)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder("price,count,ratio,cut\n");
        string[] cuts = ["Fair", "Good", "Very Good", "Premium", "Ideal"];
        for (var r = 0; r < rows; r++)
        {
            var normal = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            var price = Math.Round(Math.Exp(7.8 + (1.1 * normal)), 2);
            var count = rng.Next(1000) == 0 ? rng.Next(1_000_000, 5_000_000) : rng.Next(0, 50);
            var ratio = rng.Next(50) == 0 ? "" : rng.Next(200) == 0 ? "NaN" : (rng.NextDouble() * rng.NextDouble()).ToString("R", CultureInfo.InvariantCulture);
            sb.Append(price.ToString("R", CultureInfo.InvariantCulture)).Append(',').Append(count).Append(',').Append(ratio).Append(',').Append(cuts[rng.Next(cuts.Length)]).Append('\n');
        }
        return _dir.Write($"skewed-{seed}.csv", sb.ToString());
    }

    public static TheoryData<bool> Paths => [true, false];

    [Theory]
    [MemberData(nameof(Paths))]
    public void Compute_SkewedLargeData_StandardHistogramCountsEveryValue(bool fused)
    {
        var path = SkewedCsv(Rows);
        var stats = ComputeStats(path, fused);

        foreach (var name in new[] { "price", "count", "ratio" })
        {
            var s = stats.Find(name)!.NumStats!;
            Assert.False(s.QuantilesExact); // beyond the sketch's exact range: the case that used to lose rows
            var standard = s.Histograms.Single(h => h.Type == "STANDARD");
            // Every non-missing, non-NaN value is in exactly one bucket.
            Assert.Equal(s.CommonStats.NumNonMissing - s.NumNan, standard.Buckets.Sum(b => b.SampleCount));
            Assert.Equal(s.NumNan, standard.NumNan);
            // The bucket that holds the maximum is never empty, nor is any bucket some value falls in.
            Assert.Equal(s.Max, standard.Buckets[^1].HighValue);
            Assert.True(standard.Buckets[^1].SampleCount >= 1, $"{name}: the bucket holding the max is empty");
            Assert.All(standard.Buckets, b => Assert.Equal(Math.Floor(b.SampleCount), b.SampleCount));
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Compute_SkewedLargeData_SameCountsAsNumpyOnTheSameEdges(bool fused)
    {
        var path = SkewedCsv(Rows, seed: 5);
        var stats = ComputeStats(path, fused);
        var edges = new Dictionary<string, double[]>();
        foreach (var name in new[] { "price", "count", "ratio" })
        {
            var buckets = stats.Find(name)!.NumStats!.Histograms.Single(h => h.Type == "STANDARD").Buckets;
            edges[name] = [.. buckets.Select(b => b.LowValue), buckets[^1].HighValue];
        }

        var reference = Numpy(path, edges);
        foreach (var (name, counts) in reference)
        {
            var ours = stats.Find(name)!.NumStats!.Histograms.Single(h => h.Type == "STANDARD").Buckets.Select(b => (long)b.SampleCount).ToArray();
            Assert.Equal(counts, ours);
        }
    }

    [Fact]
    public void HistogramPass_ShardsMerged_EqualsOnePass()
    {
        var path = SkewedCsv(20_000, seed: 3);
        var batches = CsvReader.Open(path, new CsvReadOptions { BatchSize = 3000 }).ReadBatches().ToList();
        var whole = new StatisticsBuilder();
        foreach (var b in batches) whole.Add(b);
        var pass = whole.CreateHistogramPass()!;
        foreach (var b in batches) pass.Add(b);
        whole.CompleteHistogramPass(pass);

        // Shards computed apart, merged, then counted by two passes over the halves and merged again.
        var shards = new[] { batches.Take(3).ToList(), batches.Skip(3).ToList() };
        var merged = new StatisticsBuilder();
        foreach (var shard in shards)
        {
            var partial = new StatisticsBuilder();
            foreach (var b in shard) partial.Add(b);
            merged.Merge(StatisticsBuilder.FromPartialJson(partial.ToPartialJson()));
        }
        var halves = shards.Select(shard =>
        {
            var p = merged.CreateHistogramPass()!;
            foreach (var b in shard) p.Add(b);
            return p;
        }).ToList();
        halves[0].Merge(halves[1]);
        merged.CompleteHistogramPass(halves[0]);

        var expected = whole.Build("x");
        var actual = merged.Build("x");
        foreach (var f in expected.Features.Where(f => f.NumStats is not null))
        {
            var e = f.NumStats!.Histograms[0].Buckets;
            var a = actual.Find(f.Name)!.NumStats!.Histograms[0].Buckets;
            Assert.Equal(e.Select(b => (b.LowValue, b.HighValue, b.SampleCount)), a.Select(b => (b.LowValue, b.HighValue, b.SampleCount)));
        }
    }

    [Fact]
    public void CompleteHistogramPass_DataChangedBetweenPasses_ThrowsNamingTheFeature()
    {
        var path = SkewedCsv(10_000, seed: 4);
        var batches = CsvReader.Open(path).ReadBatches().ToList();
        var builder = new StatisticsBuilder();
        foreach (var b in batches) builder.Add(b);
        var pass = builder.CreateHistogramPass()!;
        pass.Add(batches[0].Select(Enumerable.Range(0, 100).ToArray()));

        var e = Assert.Throws<InvalidDataException>(() => builder.CompleteHistogramPass(pass));
        Assert.Contains("'price'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateHistogramPass_SmallData_NotNeeded()
    {
        var path = SkewedCsv(1000, seed: 8);
        var builder = new StatisticsBuilder();
        foreach (var b in CsvReader.Open(path).ReadBatches()) builder.Add(b);

        Assert.Null(builder.CreateHistogramPass()); // the sketch is exact: its items are the values
        var s = builder.Build("x").Find("price")!.NumStats!;
        Assert.Equal(1000, s.Histograms[0].Buckets.Sum(b => b.SampleCount));
    }

    private static DatasetFeatureStatistics ComputeStats(string path, bool fused)
    {
        var reader = CsvReader.Open(path);
        if (fused) return StatisticsBuilder.Compute(reader, "all");
        // The batch path, as StatisticsGen runs it over ExampleGen's shards.
        return StatisticsBuilder.Compute(new BatchesOnly(reader), "all");
    }

    /// <summary>numpy.histogram of each column (NaN and missing dropped, as TFDV does) on the given edges.</summary>
    private Dictionary<string, long[]> Numpy(string csv, Dictionary<string, double[]> edges)
    {
        const string python = "/usr/bin/python3";
        var edgesPath = _dir.Write("edges.json", JsonSerializer.Serialize(edges));
        var script = _dir.Write("hist.py", """
            import csv, json, sys
            try:
                import numpy as np
            except ImportError:
                print("NO_NUMPY"); sys.exit(3)
            edges = json.load(open(sys.argv[2]))
            cols = {k: [] for k in edges}
            with open(sys.argv[1], newline="") as f:
                for row in csv.DictReader(f):
                    for k in edges:
                        v = row[k]
                        if v not in ("", "NA", "N/A", "null", "NULL"):
                            cols[k].append(float(v))
            out = {}
            for k, e in edges.items():
                a = np.array(cols[k], dtype=np.float64)
                a = a[~np.isnan(a)]
                counts, _ = np.histogram(a, bins=np.array(e, dtype=np.float64))
                out[k] = [int(c) for c in counts]
            print(json.dumps(out))
            """);
        if (!File.Exists(python)) Assert.Fail($"{python} not found: install Debian's python3-numpy (apt-get install -y python3-pandas brings it)");
        var psi = new ProcessStartInfo(python, [script, csv, edgesPath]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode == 3) Assert.Fail("numpy is not installed for /usr/bin/python3: apt-get install -y python3-pandas");
        Assert.True(p.ExitCode == 0, $"numpy reference failed: {stderr}");
        return JsonSerializer.Deserialize<Dictionary<string, long[]>>(stdout)!;
    }

    /// <summary>Hides the CSV reader's type so <see cref="StatisticsBuilder.Compute"/> takes the batch path.</summary>
    private sealed class BatchesOnly(IRecordBatchReader inner) : IRecordBatchReader
    {
        public TableSchema Schema => inner.Schema;

        public IEnumerable<RecordBatch> ReadBatches(CancellationToken cancellation = default) => inner.ReadBatches(cancellation);
    }
}

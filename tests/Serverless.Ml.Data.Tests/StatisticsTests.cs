using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Serverless.Ml.Data.Csv;
using Serverless.Ml.Data.Sketches;
using Serverless.Ml.Data.Statistics;

namespace Serverless.Ml.Data.Tests;

public sealed class StatisticsTests : IDisposable
{
    /// <summary>Rank error accepted in tests: above KLL's 1.65% (K=200, 99% confidence) so the test is not flaky.</summary>
    private const double KllRankBound = 0.02;

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static double RankOf(double[] sorted, double v)
    {
        var lo = Array.BinarySearch(sorted, v);
        if (lo < 0) lo = ~lo;
        return (double)lo / sorted.Length;
    }

    [Fact]
    public void KllSketch_LargeStream_QuantilesWithinRankBound()
    {
        var rng = new Random(3);
        var data = Enumerable.Range(0, 300_000).Select(_ => rng.NextDouble() * rng.NextDouble() * 1000).ToArray();
        var whole = new KllSketch();
        var shards = Enumerable.Range(0, 7).Select(_ => new KllSketch()).ToArray();
        for (var i = 0; i < data.Length; i++) { whole.Add(data[i]); shards[i % 7].Add(data[i]); }
        var merged = new KllSketch();
        foreach (var s in shards) merged.Merge(KllSketch.FromState(s.ToState()));
        var sorted = data.Order().ToArray();
        Assert.False(whole.IsExact);
        Assert.True(whole.RetainedItems < 3000, $"retained {whole.RetainedItems}");
        foreach (var sk in new[] { whole, merged })
        {
            Assert.Equal(data.Length, sk.Count);
            Assert.Equal(sorted[0], sk.Min);
            Assert.Equal(sorted[^1], sk.Max);
            for (var q = 0.05; q < 1; q += 0.05)
            {
                var est = sk.Quantile(q);
                Assert.InRange(RankOf(sorted, est) - q, -KllRankBound, KllRankBound);
            }
        }
    }

    [Fact]
    public void SortSmall_AllBinaryAndRandomInputs_Sorted()
    {
        // 0-1 principle: a comparator network that sorts all 2^8 binary inputs sorts everything.
        var rng = new Random(5);
        foreach (var len in new[] { 3, 8, 20, 100 })
        {
            for (var t = 0; t < 512; t++)
            {
                var a = new double[len];
                for (var i = 0; i < len; i++) a[i] = len == 8 && t < 256 ? (t >> i) & 1 : Math.Round(rng.NextDouble() * 10) - 5;
                if (t == 300) a[0] = -0.0;
                var expected = a.Order().ToArray();
                KllSketch.SortSmall(a);
                Assert.Equal(expected, a);
                Assert.Equal(expected.Count(double.IsNegative), a.Count(double.IsNegative));
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Compute_CsvFusedPath_EqualsBatchPath(int parallelism)
    {
        var rng = new Random(9);
        var sb = new System.Text.StringBuilder("i,f,t,q\n");
        string[] odd = ["NA", "", " 7 ", "+3", "1e3", "NaN", "-0", "0.000123456789012345678", "-12.5", "\"4\""];
        for (var r = 0; r < 3000; r++)
        {
            if (r % 997 == 500) { sb.Append("1,2,3\n"); continue; } // bad: field count
            if (r % 1301 == 700) { sb.Append("x,2,a,b\n"); continue; } // bad: not an int
            var i = rng.Next(30) == 0 ? (rng.Next(2) == 0 ? "NA" : "") : rng.Next(-500, 500).ToString(CultureInfo.InvariantCulture);
            var f = rng.Next(10) == 0 ? odd[rng.Next(odd.Length)] : (rng.NextDouble() * 100 - 50).ToString("F" + rng.Next(0, 6), CultureInfo.InvariantCulture);
            if (f is " 7 " or "+3" or "\"4\"" && rng.Next(2) == 0) f = "1.5";
            var t = rng.Next(20) == 0 ? "NA" : rng.Next(3) == 0 ? $"\"long value, number {rng.Next(40)}\"" : $"v{rng.Next(12)}";
            var q = rng.Next(4) == 0 ? "\"say \"\"hi\"\"\"" : "plain";
            sb.Append(i).Append(',').Append(f).Append(',').Append(t).Append(',').Append(q).Append(r % 5 == 0 ? "\r\n" : "\n");
        }
        var path = _dir.Write("fused.csv", sb.ToString());
        var options = new CsvReadOptions { BatchSize = 400, MaxBadRows = 10, Parallelism = parallelism, TypeOverrides = new Dictionary<string, ColumnKind> { ["f"] = ColumnKind.Float64, ["i"] = ColumnKind.Int64 } };
        var batchReader = CsvReader.Open(path, options);
        var batchBuilder = new StatisticsBuilder();
        foreach (var b in batchReader.ReadBatches()) batchBuilder.Add(b);
        var expected = batchBuilder.Build("x");
        var fusedReader = CsvReader.Open(path, options);
        var actual = StatisticsBuilder.Compute(fusedReader, "x");

        Assert.Equal(batchReader.RowCount, fusedReader.RowCount);
        Assert.Equal(5, fusedReader.BadRowCount);
        Assert.Equal(batchReader.BadRowCount, fusedReader.BadRowCount);
        Assert.Equal(batchReader.BadRows, fusedReader.BadRows);
        Assert.Equal(expected.NumExamples, actual.NumExamples);
        Assert.Equal(expected.Features.Select(f => f.Name), actual.Features.Select(f => f.Name));
        foreach (var (e, a) in expected.Features.Zip(actual.Features))
        {
            Assert.Equal(e.Common.NumNonMissing, a.Common.NumNonMissing);
            Assert.Equal(e.Common.NumMissing, a.Common.NumMissing);
            if (e.NumStats is { } en)
            {
                var an = a.NumStats!;
                Assert.Equal(en.Mean, an.Mean, 1e-9);
                Assert.Equal(en.StdDev, an.StdDev, 1e-9);
                Assert.Equal((en.Min, en.Max, en.Median, en.NumZeros, en.NumNan), (an.Min, an.Max, an.Median, an.NumZeros, an.NumNan));
                Assert.True(an.QuantilesExact);
                Assert.Equal(en.Histograms.SelectMany(h => h.Buckets).Select(b => (b.LowValue, b.HighValue, b.SampleCount)), an.Histograms.SelectMany(h => h.Buckets).Select(b => (b.LowValue, b.HighValue, b.SampleCount)));
            }
            else
            {
                var es = e.StringStats!;
                var s = a.StringStats!;
                Assert.Equal((es.Unique, es.AvgLength), (s.Unique, s.AvgLength));
                Assert.Equal(es.Values!.Select(v => (v.Value, v.Frequency)), s.Values!.Select(v => (v.Value, v.Frequency)));
            }
        }
    }

    [Fact]
    public void KllSketch_FewValues_ExactLowerQuantile()
    {
        var sk = new KllSketch();
        foreach (var v in new double[] { 5, 1, 4, 2, 3 }) sk.Add(v);
        Assert.True(sk.IsExact);
        Assert.Equal(3, sk.Quantile(0.5));
        Assert.Equal(1, sk.Quantile(0));
        Assert.Equal(5, sk.Quantile(1));
        Assert.Equal(2, sk.CountBetween(2, 4));
    }

    [Theory]
    [InlineData(100)]
    [InlineData(50_000)]
    public void HyperLogLog_DistinctValues_EstimateWithinThreePercent(int distinct)
    {
        var h = new HyperLogLog();
        var other = new HyperLogLog();
        for (var i = 0; i < distinct; i++)
        {
            var hash = ExampleGen.RowHasher.Mix(ExampleGen.RowHasher.Fnv(BitConverter.GetBytes(i)));
            (i % 2 == 0 ? h : other).Add(hash);
            h.Add(hash); // duplicates do not count
        }
        h.Merge(HyperLogLog.FromRegisters(other.Registers));
        Assert.InRange(h.Estimate(), distinct * 0.97, distinct * 1.03);
    }

    private static RecordBatch Batch(int rows, int seed)
    {
        var rng = new Random(seed);
        var schema = new TableSchema([new ColumnSpec("x", ColumnKind.Float64), new ColumnSpec("n", ColumnKind.Int64), new ColumnSpec("s", ColumnKind.String)]);
        var x = new double[rows];
        var xm = new bool[rows];
        var n = new long[rows];
        var s = new string?[rows];
        for (var i = 0; i < rows; i++)
        {
            x[i] = rng.Next(10) == 0 ? 0 : (rng.NextDouble() * 100) - 20 + (seed * 3);
            xm[i] = rng.Next(20) == 0;
            if (rng.Next(50) == 0) x[i] = double.NaN;
            n[i] = rng.Next(-5, 1000);
            s[i] = rng.Next(15) == 0 ? null : "v" + rng.Next(0, 30 + seed).ToString(CultureInfo.InvariantCulture);
        }
        return new RecordBatch(schema, [
            new Float64Column(schema.Columns[0], x, xm, rows),
            new Int64Column(schema.Columns[1], n, new bool[rows], rows),
            StringColumn.FromValues(schema.Columns[2], s),
        ], rows);
    }

    [Fact]
    public void Merge_ShardsAndPartialJson_EqualsSinglePassExactly()
    {
        var batches = Enumerable.Range(0, 9).Select(i => Batch(500 + (i * 37), i)).ToList();
        var single = new StatisticsBuilder();
        foreach (var b in batches) single.Add(b);
        var merged = new StatisticsBuilder();
        for (var shard = 0; shard < 3; shard++)
        {
            var part = new StatisticsBuilder();
            foreach (var b in batches.Skip(shard * 3).Take(3)) part.Add(b);
            merged.Merge(StatisticsBuilder.FromPartialJson(part.ToPartialJson()));
        }
        var a = single.Build("all");
        var m = merged.Build("all");
        Assert.Equal(a.NumExamples, m.NumExamples);
        foreach (var name in new[] { "x", "n" })
        {
            var sa = a.Find(name)!.NumStats!;
            var sm = m.Find(name)!.NumStats!;
            Assert.Equal(sa.CommonStats.NumNonMissing, sm.CommonStats.NumNonMissing);
            Assert.Equal(sa.CommonStats.NumMissing, sm.CommonStats.NumMissing);
            Assert.Equal(sa.NumZeros, sm.NumZeros);
            Assert.Equal(sa.NumNan, sm.NumNan);
            Assert.Equal(sa.Min, sm.Min);
            Assert.Equal(sa.Max, sm.Max);
            Assert.Equal(sa.Mean, sm.Mean, 1e-9);
            Assert.Equal(sa.StdDev, sm.StdDev, 1e-9);
        }
        var xs = batches.SelectMany(b => Enumerable.Range(0, b.RowCount).Where(i => !b["x"].Missing[i]).Select(i => ((Float64Column)b["x"]).Values[i])).Where(v => !double.IsNaN(v)).ToArray();
        var mean = xs.Average();
        Assert.Equal(mean, a.Find("x")!.NumStats!.Mean, 1e-9);
        Assert.Equal(Math.Sqrt(xs.Sum(v => (v - mean) * (v - mean)) / xs.Length), a.Find("x")!.NumStats!.StdDev, 1e-9);
        var ta = a.Find("s")!.StringStats!;
        var tm = m.Find("s")!.StringStats!;
        Assert.Equal(ta.Unique, tm.Unique);
        Assert.Equal(ta.AvgLength, tm.AvgLength, 12);
        Assert.Equal(ta.Values!.Select(v => (v.Value, v.Frequency)), tm.Values!.Select(v => (v.Value, v.Frequency)));
        Assert.Equal(0, tm.CountErrorBound);
    }

    [Fact]
    public void Add_TypeChangesBetweenBatches_RecordedNotThrown()
    {
        var s1 = new TableSchema([new ColumnSpec("f", ColumnKind.Int64)]);
        var s2 = new TableSchema([new ColumnSpec("f", ColumnKind.String), new ColumnSpec("g", ColumnKind.Int64)]);
        var b = new StatisticsBuilder();
        b.Add(new RecordBatch(s1, [new Int64Column(s1.Columns[0], [1, 2], [false, false], 2)], 2));
        var other = new StatisticsBuilder();
        other.Add(new RecordBatch(s2, [StringColumn.FromValues(s2.Columns[0], ["a", null, "b"]), new Int64Column(s2.Columns[1], [1, 2, 3], new bool[3], 3)], 3));
        b.Merge(other);
        var stats = b.Build("x");
        var f = stats.Find("f")!;
        Assert.Equal(FeatureType.INT, f.Type);
        Assert.Equal([FeatureType.STRING], f.ConflictingTypes);
        Assert.Equal(4, f.Common.NumNonMissing);
        Assert.Equal(1, f.Common.NumMissing);
        Assert.Equal(2, stats.Find("g")!.Common.NumMissing); // absent from the first shard's 2 rows
        Assert.Equal(5, stats.NumExamples);
    }

    [Fact]
    public void Add_DistinctBeyondCap_HyperLogLogUniqueAndErrorBound()
    {
        var schema = new TableSchema([new ColumnSpec("s", ColumnKind.String)]);
        var b = new StatisticsBuilder(new StatisticsOptions { MaxExactDistinct = 1000 });
        for (var k = 0; k < 5; k++)
            b.Add(new RecordBatch(schema, [StringColumn.FromValues(schema.Columns[0], Enumerable.Range(0, 1000).Select(i => (i % 10 == 0 ? "hot" : "id" + ((k * 1000) + i).ToString(CultureInfo.InvariantCulture))).ToArray())], 1000));
        var s = b.Build("x").Find("s")!.StringStats!;
        Assert.True(s.UniqueIsEstimate);
        Assert.InRange(s.Unique, 4500 * 0.97, 4501 * 1.03);
        Assert.Equal("hot", s.TopValues[0].Value);
        Assert.Equal(500, s.TopValues[0].Frequency);
        Assert.True(s.CountErrorBound >= 1);
        Assert.Null(s.Values);
    }

    private static (string[] Header, List<string?[]> Rows) ParsePenguins()
    {
        var lines = File.ReadAllLines(SharedData.Dataset("penguins.csv"));
        var header = lines[0].Split(',').Select(h => h.Trim('"')).ToArray();
        var rows = lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',').Select(f => f.Length == 0 || f == "NA" ? null : f.Trim('"')).ToArray()).ToList();
        return (header, rows);
    }

    [Fact]
    public void Compute_Penguins_MatchesTwoPassExactReference()
    {
        var (header, rows) = ParsePenguins();
        var stats = StatisticsBuilder.Compute(CsvReader.Open(SharedData.Dataset("penguins.csv")), "all");
        Assert.Equal(rows.Count, stats.NumExamples);
        for (var c = 0; c < header.Length; c++)
        {
            var values = rows.Select(r => r[c]).Where(v => v is not null).Select(v => v!).ToList();
            var f = stats.Find(header[c])!;
            Assert.Equal(values.Count, f.Common.NumNonMissing);
            Assert.Equal(rows.Count - values.Count, f.Common.NumMissing);
            var numeric = values.All(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
            if (numeric)
            {
                var xs = values.Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
                var mean = xs.Sum() / xs.Length;                                      // pass 1
                var std = Math.Sqrt(xs.Sum(v => (v - mean) * (v - mean)) / xs.Length); // pass 2
                var s = f.NumStats!;
                Assert.Equal(mean, s.Mean, 1e-9);
                Assert.Equal(std, s.StdDev, 1e-9);
                Assert.Equal(xs.Min(), s.Min);
                Assert.Equal(xs.Max(), s.Max);
                Assert.Equal(xs.Count(v => v == 0), s.NumZeros);
                var sorted = xs.Order().ToArray();
                Assert.InRange(RankOf(sorted, s.Median) - 0.5, -KllRankBound, KllRankBound);
                Assert.Equal(xs.Length, s.Histograms[0].Buckets.Sum(b => b.SampleCount));
                var width = (s.Max - s.Min) / 10;
                Assert.Equal(xs.Count(v => v >= s.Min && v < s.Min + width), s.Histograms[0].Buckets[0].SampleCount);
                Assert.Equal(11, s.Histograms[1].Buckets.Select(b => b.LowValue).Append(s.Histograms[1].Buckets[^1].HighValue).Count());
            }
            else
            {
                var s = f.StringStats!;
                var counts = values.GroupBy(v => v).Select(g => (g.Key, (double)g.Count())).OrderByDescending(x => x.Item2).ThenBy(x => x.Key, StringComparer.Ordinal).ToList();
                Assert.Equal(counts.Count, s.Unique);
                Assert.Equal(counts.Take(20), s.TopValues.Select(v => (v.Value, v.Frequency)));
                Assert.Equal(values.Average(v => v.Length), s.AvgLength, 12);
                Assert.Equal(counts[0].Key, s.RankHistogram.Buckets[0].Label);
            }
        }
    }

    [Fact]
    public void Compute_PenguinsVsPandas_SameNumbers()
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python)) Assert.Fail($"{python} not found: install Debian's python3 and python3-pandas (apt-get install -y python3-pandas).");
        var script = _dir.Write("ref.py", """
            import json, sys
            try:
                import pandas as pd
            except ImportError:
                print("NO_PANDAS"); sys.exit(3)
            df = pd.read_csv(sys.argv[1])
            out = {}
            for c in df.columns:
                s = df[c]
                if pd.api.types.is_numeric_dtype(s):
                    out[c] = {"count": int(s.count()), "mean": float(s.mean()), "std0": float(s.std(ddof=0)), "min": float(s.min()), "max": float(s.max()), "median": float(s.median())}
                else:
                    out[c] = {"count": int(s.count()), "counts": {k: int(v) for k, v in s.value_counts().items()}}
            print(json.dumps(out))
            """);
        var psi = new ProcessStartInfo(python, [script, SharedData.Dataset("penguins.csv")]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode == 3) Assert.Fail("pandas is not installed for /usr/bin/python3: apt-get install -y python3-pandas");
        Assert.True(p.ExitCode == 0, $"pandas reference failed: {stderr}");
        var reference = JsonDocument.Parse(stdout).RootElement;
        var stats = StatisticsBuilder.Compute(CsvReader.Open(SharedData.Dataset("penguins.csv")), "all");
        var sortedCache = new Dictionary<string, double[]>();
        foreach (var col in reference.EnumerateObject())
        {
            var f = stats.Find(col.Name)!;
            Assert.Equal(col.Value.GetProperty("count").GetInt64(), f.Common.NumNonMissing);
            if (col.Value.TryGetProperty("mean", out var mean))
            {
                var s = f.NumStats!;
                Assert.Equal(mean.GetDouble(), s.Mean, 1e-9);
                Assert.Equal(col.Value.GetProperty("std0").GetDouble(), s.StdDev, 1e-9);
                Assert.Equal(col.Value.GetProperty("min").GetDouble(), s.Min);
                Assert.Equal(col.Value.GetProperty("max").GetDouble(), s.Max);
                // pandas interpolates the median; ours is the lower median of an exact sketch: within one value step.
                var pm = col.Value.GetProperty("median").GetDouble();
                Assert.InRange(s.Median, pm - ((s.Max - s.Min) * KllRankBound) - 1, pm + ((s.Max - s.Min) * KllRankBound) + 1);
            }
            else
            {
                var counts = col.Value.GetProperty("counts").EnumerateObject().ToDictionary(e => e.Name, e => (double)e.Value.GetInt64());
                Assert.Equal(counts.Count, f.StringStats!.Unique);
                foreach (var v in f.StringStats.TopValues) Assert.Equal(counts[v.Value], v.Frequency);
            }
        }
    }

    [Fact]
    public void StatisticsJsonAndHtml_Penguins_RoundTripAndSelfContained()
    {
        var csv = CsvReader.Open(SharedData.Dataset("penguins.csv"));
        var list = new DatasetFeatureStatisticsList { Datasets = [StatisticsBuilder.Compute(csv, "train"), StatisticsBuilder.Compute(csv, "eval")] };
        var path = _dir.File("stats.json");
        list.Save(path);
        var json = File.ReadAllText(path);
        Assert.Contains("\"num_non_missing\"", json, StringComparison.Ordinal);
        Assert.Contains("\"std_dev\"", json, StringComparison.Ordinal);
        var back = DatasetFeatureStatisticsList.Load(path);
        Assert.Equal(list.ToJson(), back.ToJson());
        var html = StatisticsReport.ToHtml(list, "Penguins <test>");
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("Penguins &lt;test&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("href=", html, StringComparison.OrdinalIgnoreCase);
        foreach (var f in list.Datasets[0].Features) Assert.Contains($"<h2>{f.Name} ", html, StringComparison.Ordinal);
        StatisticsReport.Save(list, _dir.File("stats.html"));
        Assert.True(new FileInfo(_dir.File("stats.html")).Length > 1000);
    }
}

using Serverless.Metadata;
using Serverless.Ml.Components.StatisticsGen;
using Serverless.Ml.Data.Statistics;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.Tests.StatisticsGen;

public sealed class StatisticsGenExecutorTests : IDisposable
{
    private readonly NodeHarness harness = new();

    public void Dispose() => harness.Dispose();

    private async Task<(ArtifactRef Statistics, DatasetFeatureStatistics All)> PenguinsAsync(long rowsPerShard)
    {
        var results = await harness.RunAsync(
            $"p{rowsPerShard}",
            Nodes.CsvGen("gen", TestData.DatasetsFolder, "penguins.csv", new() { ["output_splits"] = "all:1", ["rows_per_shard"] = rowsPerShard }),
            Nodes.Stats("stats", "gen"));
        Assert.True(results["stats"].Succeeded, results["stats"].Error);
        var statistics = results["stats"].Outputs["statistics"];
        return (statistics, DatasetFeatureStatisticsList.FromJson(harness.ReadText(statistics, StatisticsGenExecutor.StatisticsPath("all"))).Datasets.Single());
    }

    [Fact]
    public async Task Execute_Penguins_MatchesPandas()
    {
        var (statistics, all) = await PenguinsAsync(1_000_000);
        // pandas 1.5 on the same file: read_csv + describe (std converted to ddof 0, TFDV's convention) + isna().sum().
        Assert.Equal(344, all.NumExamples);
        var bill = all.Find("bill_length_mm")!.NumStats!;
        Assert.Equal(342, bill.CommonStats.NumNonMissing);
        Assert.Equal(2, bill.CommonStats.NumMissing);
        Assert.Equal(43.921930, bill.Mean, 5);
        Assert.Equal(5.451596, bill.StdDev, 5);
        Assert.Equal(32.1, bill.Min, 9);
        Assert.Equal(59.6, bill.Max, 9);
        Assert.InRange(bill.Median, 44.4, 44.5); // pandas interpolates 44.45; the sketch is exact here (lower median)
        var mass = all.Find("body_mass_g")!.NumStats!;
        Assert.Equal(4201.754386, mass.Mean, 5);
        Assert.Equal(800.781229, mass.StdDev, 5);
        var species = all.Find("species")!.StringStats!;
        Assert.Equal(3, species.Unique);
        Assert.Equal(("Adelie", 152.0), (species.TopValues[0].Value, species.TopValues[0].Frequency));
        Assert.Equal(11, all.Find("sex")!.Common.NumMissing);

        var html = harness.ReadText(statistics, StatisticsGenExecutor.ReportPath);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("flipper_length_mm", html, StringComparison.Ordinal);
        Assert.Equal("[\"all\"]", statistics.Properties[MlProperties.SplitNames].StringValue);
        Assert.Equal(344, statistics.Properties["row_count_all"].IntValue);
    }

    [Fact]
    public async Task Execute_ManyShards_MergesToTheSingleShardResult()
    {
        var (_, one) = await PenguinsAsync(1_000_000);
        var (sharded, merged) = await PenguinsAsync(40);
        Assert.Equal(9, sharded.Properties["shard_count"].IntValue);
        Assert.Equal(one.NumExamples, merged.NumExamples);
        foreach (var feature in one.Features)
        {
            var other = merged.Find(feature.Name)!;
            Assert.Equal(feature.Common.NumNonMissing, other.Common.NumNonMissing);
            if (feature.NumStats is { } a)
            {
                Assert.Equal(a.Mean, other.NumStats!.Mean, 9);
                Assert.Equal(a.StdDev, other.NumStats.StdDev, 9);
                Assert.Equal((a.Min, a.Max), (other.NumStats.Min, other.NumStats.Max));
                Assert.Equal(a.Median, other.NumStats.Median); // under 4,096 values the sketch is exact
            }
        }
    }

    [Fact]
    public async Task Execute_ExcludedSplit_IsNotComputed()
    {
        var results = await harness.RunAsync(
            "p",
            Nodes.CsvGen("gen", TestData.DatasetsFolder, "penguins.csv"),
            Nodes.Stats("stats", "gen", new() { ["exclude_splits"] = "eval" }));
        var statistics = results["stats"].Outputs["statistics"];
        Assert.Equal("[\"train\"]", statistics.Properties[MlProperties.SplitNames].StringValue);
        Assert.False(File.Exists(harness.FileOf(statistics, StatisticsGenExecutor.StatisticsPath("eval"))));
    }

    [Fact]
    public async Task Execute_ManyRowsInShards_StandardHistogramsCountEveryRow()
    {
        // Issue 16 item 3: beyond 4,096 values per feature the sketch no longer holds every value; a second pass over
        // the shards counts the equal-width histogram exactly, so the counts add up and the max's bucket is not empty.
        var rng = new Random(21);
        var csv = new System.Text.StringBuilder("price,depth\n");
        for (var r = 0; r < 12_000; r++)
        {
            var normal = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            csv.Append(Math.Round(Math.Exp(7.8 + (1.1 * normal)))).Append(',').Append(rng.Next(20) == 0 ? "" : (55 + (10 * rng.NextDouble())).ToString("F1", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }

        harness.Temp.Write("skewed/data.csv", csv.ToString());
        var results = await harness.RunAsync(
            "skewed",
            Nodes.CsvGen("gen", harness.Temp.Combine("skewed"), "*.csv", new() { ["output_splits"] = "all:1", ["rows_per_shard"] = 5000L }),
            Nodes.Stats("stats", "gen"));
        Assert.True(results["stats"].Succeeded, results["stats"].Error);
        var all = DatasetFeatureStatisticsList.FromJson(harness.ReadText(results["stats"].Outputs["statistics"], StatisticsGenExecutor.StatisticsPath("all"))).Datasets.Single();
        foreach (var name in new[] { "price", "depth" })
        {
            var s = all.Find(name)!.NumStats!;
            Assert.False(s.QuantilesExact);
            var buckets = s.Histograms.Single(h => h.Type == "STANDARD").Buckets;
            Assert.Equal(s.CommonStats.NumNonMissing, buckets.Sum(b => b.SampleCount));
            Assert.True(buckets[^1].SampleCount >= 1, $"{name}: the bucket holding the max ({s.Max}) is empty");
        }
    }
}

using Serverless.Ml.Data;
using Serverless.Ml.Transform;
using static Serverless.Ml.Transform.Tests.TestData;

namespace Serverless.Ml.Transform.Tests;

/// <summary>The training/serving-skew tests: ONNX Runtime on raw values equals the in-process transform.</summary>
public sealed class SkewTests
{
    internal static TransformSpec PenguinsSpec() => new()
    {
        Features =
        [
            new() { Name = "bill_length", Input = "bill_length_mm", Kind = FeatureKind.ZScore },
            new() { Name = "bill_depth", Input = "bill_depth_mm", Kind = FeatureKind.MinMax, Fill = new(FillStrategy.Median), Clip = new(14, 20) },
            new() { Name = "flipper", Input = "flipper_length_mm", Kind = FeatureKind.Bucketize, NumBuckets = 4, Fill = new(FillStrategy.Median) },
            new() { Name = "body_mass", Input = "body_mass_g", Kind = FeatureKind.ZScore, Log1p = true, Fill = new(FillStrategy.Mode) },
            new() { Name = "body_mass_raw", Input = "body_mass_g", Fill = new(FillStrategy.Constant, Value: 4000) },
            new() { Name = "island", Kind = FeatureKind.Vocabulary, NumOovBuckets = 1 },
            new() { Name = "sex", Kind = FeatureKind.Vocabulary, TopK = 1, NumOovBuckets = 3 },
            new() { Name = "sex_hash", Input = "sex", Kind = FeatureKind.Hash, HashBuckets = 7, Fill = new(FillStrategy.Constant, Text: "unknown"), Encode = CategoricalEncoding.Index },
            new() { Name = "year", Kind = FeatureKind.Vocabulary, TopK = 2, NumOovBuckets = 2, Encode = CategoricalEncoding.Index },
            new() { Name = "year_hash", Input = "year", Kind = FeatureKind.Hash, HashBuckets = 5 },
            new() { Name = "island_x_flipper", Kind = FeatureKind.Cross, Components = ["island", "flipper"] },
            new() { Name = "island_x_sex", Kind = FeatureKind.Cross, Components = ["island", "sex"], HashBuckets = 5, Encode = CategoricalEncoding.Index },
        ],
        Label = new LabelSpec("species"),
    };

    [Fact]
    public void ExportOnnx_Penguins_EveryRowMatchesInProcess()
    {
        var reader = Penguins();
        var t = new TransformEstimator(PenguinsSpec()).Fit(reader);
        var rows = 0;
        foreach (var batch in reader.ReadBatches())
        {
            AssertNoSkew(t, batch);
            rows += batch.RowCount;
        }
        Assert.Equal(344, rows);
        Assert.Equal(40, t.Width);
        Assert.Equal(["Adelie", "Gentoo", "Chinstrap"], t.Label!.Classes!);
    }

    [Fact]
    public void ExportOnnx_SyntheticWithMissingAndUnseen_EveryRowMatchesInProcess()
    {
        var rng = new Random(7);
        const int n = 2000;
        string?[] colors = ["red", "green", "blue", "cyan", "teal", "plum"];
        RecordBatch Make(int rows, bool serving)
        {
            var x = new double?[rows];
            var k = new long?[rows];
            var c = new string?[rows];
            var code = new long?[rows];
            for (var i = 0; i < rows; i++)
            {
                x[i] = rng.NextDouble() < 0.1 ? null : rng.NextDouble() < 0.02 ? double.NaN : rng.NextDouble() * 100 - (serving ? 10 : 0);
                k[i] = rng.NextDouble() < 0.1 ? null : rng.Next(-50, 1000) * (serving ? 3L : 1L);
                c[i] = rng.NextDouble() < 0.1 ? null : serving && rng.NextDouble() < 0.2 ? "unseen" + rng.Next(5) : colors[(int)Math.Min(5, Math.Floor(-Math.Log(rng.NextDouble() + 1e-12)))];
                code[i] = rng.NextDouble() < 0.05 ? null : serving && rng.NextDouble() < 0.2 ? 100 + rng.Next(1_000_000) : rng.Next(12);
            }
            return Batch(Doubles("x", x), Longs("k", k), Strings("color", c), Longs("code", code));
        }
        var spec = new TransformSpec
        {
            Features =
            [
                new() { Name = "x_z", Input = "x", Kind = FeatureKind.ZScore, Clip = new(0, 80), Log1p = true },
                new() { Name = "x_raw", Input = "x", Fill = new(FillStrategy.None) },
                new() { Name = "x_b", Input = "x", Kind = FeatureKind.Bucketize, NumBuckets = 5, Fill = new(FillStrategy.None) },
                new() { Name = "k_mm", Input = "k", Kind = FeatureKind.MinMax, Fill = new(FillStrategy.Median) },
                new() { Name = "k_b", Input = "k", Kind = FeatureKind.Bucketize, NumBuckets = 10, Fill = new(FillStrategy.Mean), Encode = CategoricalEncoding.Index },
                new() { Name = "color", Kind = FeatureKind.Vocabulary, TopK = 4, NumOovBuckets = 3 },
                new() { Name = "color_fill", Input = "color", Kind = FeatureKind.Vocabulary, FrequencyThreshold = 50, Fill = new(FillStrategy.Mode) },
                new() { Name = "color_h", Input = "color", Kind = FeatureKind.Hash, HashBuckets = 4 },
                new() { Name = "code", Kind = FeatureKind.Vocabulary, TopK = 8, NumOovBuckets = 4 },
                new() { Name = "code_strict", Input = "code", Kind = FeatureKind.Vocabulary, Encode = CategoricalEncoding.Index, Fill = new(FillStrategy.Constant, Value: 3) },
                new() { Name = "code_h", Input = "code", Kind = FeatureKind.Hash, HashBuckets = 16, Encode = CategoricalEncoding.Index },
                new() { Name = "cross", Kind = FeatureKind.Cross, Components = ["color", "code", "x_b"], HashBuckets = 64, Encode = CategoricalEncoding.Index },
            ],
        };
        var train = Make(n, serving: false);
        var t = Fit(spec, train);
        AssertNoSkew(t, train);
        var serving = Make(n, serving: true);
        var features = AssertNoSkew(t, serving);
        // The serving rows really exercise unseen categories: some rows of 'color' land in OOV buckets.
        var color = t.GetFeature("color");
        var oovHits = 0;
        for (var i = 0; i < n; i++)
            for (var j = 4; j < 7; j++) oovHits += features[i * t.Width + color.Offset + j] == 1f ? 1 : 0;
        Assert.True(oovHits > 100, $"only {oovHits} OOV rows");
        Assert.Contains(features, float.IsNaN); // x_raw keeps missing as NaN
    }

    [Fact]
    public void ExportOnnx_Images_ScaledToUnitRangeAndMatches()
    {
        var spec = new ColumnSpec("img", ColumnKind.Float32Tensor, [2, 3]);
        float[] values = [0, 51, 255, 300, -5, 127.5f, 9, 9, 9, 9, 9, 9, 1, 2, 3, 4, 5, 6];
        var col = new Float32TensorColumn(spec, values, [false, true, false], 3);
        var batch = Batch(col, Doubles("v", 1, 2, 3));
        var t = Fit(new TransformSpec { Features = [new() { Name = "img", Kind = FeatureKind.Image }, new() { Name = "v" }] }, batch);
        var f = AssertNoSkew(t, batch);
        Assert.Equal(7, t.Width);
        Assert.Equal([0f, 0.2f, 1f, 1f, 0f, 0.5f, 1f], Row(f, 7, 0));
        Assert.Equal([0f, 0, 0, 0, 0, 0, 2f], Row(f, 7, 1));
    }
}

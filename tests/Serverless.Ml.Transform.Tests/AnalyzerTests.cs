using Serverless.Ml.Data;
using Serverless.Ml.Transform;
using static Serverless.Ml.Transform.Tests.TestData;

namespace Serverless.Ml.Transform.Tests;

/// <summary>Per-transform unit tests: fitted parameters and in-process outputs.</summary>
public sealed class AnalyzerTests
{
    private static FittedTransform FitOne(FeatureSpec feature, Column column) => Fit(new TransformSpec { Features = [feature] }, Batch(column));

    private static float[] ApplyOne(FittedTransform t, Column column) => t.Apply(Batch(column)).Features;

    [Fact]
    public void Vocabulary_TiedCounts_OrderedByFrequencyThenReverseLexicographic()
    {
        var col = Strings("s", "b", "a", "c", "a", "b", "d", "c", "zz", "é", "é");
        var t = FitOne(new() { Name = "s", Kind = FeatureKind.Vocabulary }, col);
        // counts: a 2, b 2, c 2, é 2, d 1, zz 1. Ties: reverse lexicographic UTF-8 bytes (é = C3 A9 sorts after 'z').
        Assert.Equal(["é", "c", "b", "a", "zz", "d"], t.GetFeature("s").Vocabulary!);
    }

    [Fact]
    public void Vocabulary_IntTokens_TiesByReverseLexicographicDecimalText()
    {
        var t = FitOne(new() { Name = "n", Kind = FeatureKind.Vocabulary }, Longs("n", 9, 10, 2, 2, 10, 9, 100));
        // 9, 10, 2 tie at 2: as text "9" > "2" > "10"; then 100 with count 1.
        Assert.Equal([9L, 2, 10, 100], t.GetFeature("n").IntVocabulary!);
    }

    [Fact]
    public void Vocabulary_TopKAndThreshold_TrimsAndOovGetsNextIndex()
    {
        var col = Strings("s", "a", "a", "a", "b", "b", "c", "d", "d", "d", "d");
        var t = FitOne(new() { Name = "s", Kind = FeatureKind.Vocabulary, TopK = 2, FrequencyThreshold = 2, NumOovBuckets = 1, Encode = CategoricalEncoding.Index }, col);
        Assert.Equal(["d", "a"], t.GetFeature("s").Vocabulary!);
        var out1 = ApplyOne(t, Strings("s", "d", "a", "b", "never", null));
        Assert.Equal([0f, 1f, 2f, 2f, 2f], out1);
        var t2 = FitOne(new() { Name = "s", Kind = FeatureKind.Vocabulary, FrequencyThreshold = 3, Encode = CategoricalEncoding.Index }, col);
        Assert.Equal(["d", "a"], t2.GetFeature("s").Vocabulary!);
        Assert.Equal([-1f, -1f], ApplyOne(t2, Strings("s", "b", null)));
    }

    [Fact]
    public void Vocabulary_SeveralOovBuckets_SeenAndUnseenTokensHashedMissingToFirstBucket()
    {
        var col = Strings("s", "a", "a", "b", "c", "d", "e");
        var t = FitOne(new() { Name = "s", Kind = FeatureKind.Vocabulary, TopK = 1, NumOovBuckets = 3, Encode = CategoricalEncoding.Index }, col);
        string[] outside = ["b", "c", "d", "e", "unseen", "never", "zebra", "x1", "x2", "x3", "x4", "x5"]; // seen at fit, then unseen
        var got = ApplyOne(t, Strings("s", ["a", .. outside, null]));
        Assert.Equal(0f, got[0]);
        for (var i = 0; i < outside.Length; i++) Assert.Equal(1 + StableHash.StringBucket(outside[i], 3), (long)got[i + 1]);
        // TFT's rule: tokens outside the vocabulary, seen at fit or not, spread over the OOV buckets by their hash.
        Assert.True(got[5..^1].Distinct().Count() > 1, string.Join(",", got));
        Assert.Equal(1f, got[^1]);
    }

    [Fact]
    public void Vocabulary_IntOovBuckets_UnseenValuesHashedExactly()
    {
        var t = FitOne(new() { Name = "n", Kind = FeatureKind.Vocabulary, NumOovBuckets = 4, Encode = CategoricalEncoding.Index }, Longs("n", 1, 1, 2));
        var got = ApplyOne(t, Longs("n", 1, 2, 77, -5, null));
        Assert.Equal(new float[] { 0, 1, 2 + StableHash.Int64Bucket(77, 4), 2 + StableHash.Int64Bucket(-5, 4), 2 }, got);
    }

    [Fact]
    public void ZScore_WithMeanFill_UsesPopulationStdOfFilledValues()
    {
        var t = FitOne(new() { Name = "x", Kind = FeatureKind.ZScore }, Doubles("x", 1, 2, 3, null, double.NaN));
        var f = t.GetFeature("x");
        Assert.Equal(2.0, f.FillValue);
        Assert.Equal(2.0, f.Center, 12);
        Assert.Equal(Math.Sqrt(2.0 / 5), f.Scale, 12); // values 1,2,3,2,2
        Assert.Equal([(float)(-1 / Math.Sqrt(0.4)), 0f], ApplyOne(t, Doubles("x", 1, null)));
    }

    [Fact]
    public void MinMax_ConstantFillAndClip_ScalesToUnitRange()
    {
        var t = FitOne(new() { Name = "x", Kind = FeatureKind.MinMax, Clip = new(null, 10), Fill = new(FillStrategy.Constant, Value: -10) }, Doubles("x", 0, 5, 50, null));
        var f = t.GetFeature("x");
        Assert.Equal(-10, f.Center);
        Assert.Equal(20, f.Scale);
        Assert.Equal([0.5f, 0.75f, 1f, 0f], ApplyOne(t, Doubles("x", 0, 5, 50, null)));
    }

    [Fact]
    public void Log1pAndMedianFill_AppliedInOrder()
    {
        var t = FitOne(new() { Name = "x", Log1p = true, Fill = new(FillStrategy.Median) }, Doubles("x", 0, 1, 3, 7, 100, null));
        Assert.Equal(3.0, t.GetFeature("x").FillValue);
        Assert.Equal([(float)Math.Log(8), (float)Math.Log(4)], ApplyOne(t, Doubles("x", 7, null)));
    }

    [Fact]
    public void ModeFill_Numeric_TiesGoToSmallestValue()
    {
        var t = FitOne(new() { Name = "n", Fill = new(FillStrategy.Mode) }, Longs("n", 5, 5, 3, 3, 9, null));
        Assert.Equal(3.0, t.GetFeature("n").FillValue);
    }

    [Fact]
    public void ModeFill_String_CountsIntoTheVocabulary()
    {
        var t = FitOne(new() { Name = "s", Kind = FeatureKind.Vocabulary, Fill = new(FillStrategy.Mode), Encode = CategoricalEncoding.Index }, Strings("s", "x", "y", "y", null, null, null, "x", "x"));
        Assert.Equal("x", t.GetFeature("s").FillText);
        Assert.Equal(["x", "y"], t.GetFeature("s").Vocabulary!);
        Assert.Equal([0f], ApplyOne(t, Strings("s", [null])));
    }

    [Fact]
    public void Bucketize_Quantiles_BoundariesAtEqualRanks()
    {
        var values = Enumerable.Range(1, 100).Select(i => (double?)i).ToArray();
        var t = FitOne(new() { Name = "x", Kind = FeatureKind.Bucketize, NumBuckets = 4, Encode = CategoricalEncoding.Index }, Doubles("x", values));
        Assert.Equal([25.0, 50.0, 75.0], t.GetFeature("x").Boundaries!);
        Assert.Equal([0f, 0f, 1f, 2f, 3f, 3f], ApplyOne(t, Doubles("x", -1, 24.9, 25, 74, 75, 1e9)));
    }

    [Fact]
    public void Bucketize_MissingFilledWithMean_FillValueWeighsInBoundaries()
    {
        // 1..4 present, 4 missing filled with 2.5: sorted 1,2,2.5,2.5,2.5,2.5,3,4 -> median (rank 4 of 8) is 2.5.
        var t = FitOne(new() { Name = "x", Kind = FeatureKind.Bucketize, NumBuckets = 2 }, Doubles("x", 1, 2, 3, 4, null, null, null, null));
        Assert.Equal([2.5], t.GetFeature("x").Boundaries!);
    }

    [Fact]
    public void Hash_StableValues_MatchDocumentedFunctions()
    {
        // MurmurHash3 x86 32, seed 0; "héllo" (multi-byte UTF-8, a 2-byte tail) as ONNX Runtime's MurmurHash3 op gives it.
        Assert.Equal(0u, StableHash.String(""));
        Assert.Equal(1009084850u, StableHash.String("a"));
        Assert.Equal(613153351u, StableHash.String("hello"));
        Assert.Equal(3164577896u, StableHash.String("héllo"));
        Assert.Equal(1257481891u, StableHash.String("Adelie"));
        var s = FitOne(new() { Name = "s", Kind = FeatureKind.Hash, HashBuckets = 1000, Encode = CategoricalEncoding.Index }, Strings("s", "x", "y"));
        Assert.Equal(new float[] { 1009084850u % 1000, 613153351u % 1000, 0 }, ApplyOne(s, Strings("s", "a", "hello", null)));
        Assert.Equal((48271L * 5 + 11) % 2147483647L, StableHash.Int64(5));
        Assert.Equal((48271L * (2147483647L - 5) + 11) % 2147483647L, StableHash.Int64(-5));
        var t = FitOne(new() { Name = "n", Kind = FeatureKind.Hash, HashBuckets = 10, Encode = CategoricalEncoding.Index }, Longs("n", 5, -5));
        Assert.Equal(new float[] { StableHash.Int64(5) % 10, StableHash.Int64(-5) % 10, 0 }, ApplyOne(t, Longs("n", 5, -5, null)));
    }

    [Fact]
    public void Cross_UnhashedComponents_MixedRadixOneHot()
    {
        var batch = Batch(Strings("a", "p", "q", "q", "p"), Strings("b", "u", "u", "v", null));
        var spec = new TransformSpec
        {
            Features =
            [
                new() { Name = "a", Kind = FeatureKind.Vocabulary, Output = false },
                new() { Name = "b", Kind = FeatureKind.Vocabulary, Output = false },
                new() { Name = "ab", Kind = FeatureKind.Cross, Components = ["a", "b"] },
            ],
        };
        var t = Fit(spec, batch);
        Assert.Equal(4, t.Width);
        var f = AssertNoSkew(t, batch);
        var a = t.GetFeature("a").Vocabulary!.ToList();
        var b = t.GetFeature("b").Vocabulary!.ToList();
        Assert.Equal(1f, f[0 * 4 + a.IndexOf("p") * 2 + b.IndexOf("u")]);
        Assert.Equal(1f, f[2 * 4 + a.IndexOf("q") * 2 + b.IndexOf("v")]);
        Assert.Equal([0f, 0, 0, 0], Row(f, 4, 3)); // missing component without OOV: no category
    }

    [Fact]
    public void Label_Classification_IndexByVocabularyOrder()
    {
        var batch = Batch(Doubles("x", 1, 2, 3, 4), Strings("y", "cat", "dog", "dog", null));
        var t = Fit(new TransformSpec { Features = [new() { Name = "x" }], Label = new("y") }, batch);
        Assert.Equal(["dog", "cat"], t.Label!.Classes!);
        Assert.Equal([1f, 0f, 0f, -1f], t.Apply(batch).Labels!);
        Assert.DoesNotContain(t.RawInputs, c => c.Name == "y");
    }
}

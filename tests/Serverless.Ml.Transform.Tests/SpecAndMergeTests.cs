using Serverless.Ml.Data;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Transform;
using static Serverless.Ml.Transform.Tests.TestData;

namespace Serverless.Ml.Transform.Tests;

/// <summary>Validation before the pass, spec loading, shard merges, persistence and transformed examples.</summary>
public sealed class SpecAndMergeTests
{
    private static readonly TableSchema Schema = TestData.Schema(Doubles("x", 1), Strings("s", "a"), Longs("n", 1));

    [Fact]
    public void CreateAccumulator_MissingFeature_ThrowsNamingFeatureAndTransform()
    {
        var spec = new TransformSpec { Features = [new() { Name = "age_z", Input = "age", Kind = FeatureKind.ZScore }] };
        var e = Assert.Throws<TransformSpecException>(() => new TransformEstimator(spec).CreateAccumulator(Schema));
        var error = Assert.Single(e.Errors);
        Assert.Equal(("age_z", "z_score"), (error.Feature, error.Transform));
        Assert.Contains("'age'", e.Message);
    }

    [Fact]
    public void Fit_ScalerOnStringFeature_ThrowsBeforeReadingData()
    {
        var spec = new TransformSpec { Features = [new() { Name = "s", Kind = FeatureKind.MinMax }] };
        var e = Assert.Throws<TransformSpecException>(() => new TransformEstimator(spec).Fit(Schema, NeverEnumerated()));
        Assert.Contains("feature 's' (min_max)", e.Message);
        Assert.Contains("String", e.Message);

        static IEnumerable<RecordBatch> NeverEnumerated()
        {
            throw new InvalidOperationException("the data must not be read for an invalid spec");
#pragma warning disable CS0162 // an iterator needs a yield
            yield break;
#pragma warning restore CS0162
        }
    }

    [Fact]
    public void Validate_BadOptions_ReportsEveryProblem()
    {
        var spec = new TransformSpec
        {
            Features =
            [
                new() { Name = "s", Kind = FeatureKind.Vocabulary, Fill = new(FillStrategy.Mean) },
                new() { Name = "x", Kind = FeatureKind.Bucketize },
                new() { Name = "x2", Input = "x", Kind = FeatureKind.Vocabulary },
                new() { Name = "c", Kind = FeatureKind.Cross, Components = ["s", "zz"] },
            ],
            Label = new("missing_label"),
        };
        var errors = new TransformEstimator(spec).Validate(Schema);
        Assert.Contains(errors, e => e.Feature == "s" && e.Message.Contains("mean", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Feature == "x" && e.Message.Contains("numBuckets", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Feature == "x2" && e.Transform == "vocabulary");
        Assert.Contains(errors, e => e.Feature == "c" && e.Message.Contains("'zz'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Transform == "label");
    }

    [Fact]
    public void Load_YamlAndJson_GiveTheSameSpec()
    {
        var dir = Directory.CreateTempSubdirectory("transform-spec");
        try
        {
            var yaml = """
                features:
                  - name: bill
                    input: bill_length_mm
                    kind: z_score
                    clip: { min: 30, max: 60 }
                    log1p: true
                  - name: island
                    kind: vocabulary
                    topK: 10
                    numOovBuckets: 2
                    encode: index
                    fill: { strategy: constant, text: "123" }
                label: { input: species, kind: classification }
                """;
            File.WriteAllText(Path.Combine(dir.FullName, "t.yaml"), yaml);
            var fromYaml = TransformSpec.Load(Path.Combine(dir.FullName, "t.yaml"));
            File.WriteAllText(Path.Combine(dir.FullName, "t.json"), fromYaml.ToJson());
            var fromJson = TransformSpec.Load(Path.Combine(dir.FullName, "t.json"));
            Assert.Equal(fromYaml.ToJson(), fromJson.ToJson());
            Assert.Equal(FeatureKind.ZScore, fromJson.Features[0].Kind);
            Assert.Equal(60, fromJson.Features[0].Clip!.Max);
            Assert.Equal("123", fromJson.Features[1].Fill!.Text);
            Assert.Equal(CategoricalEncoding.Index, fromJson.Features[1].Encode);
            Assert.Contains("\"z_score\"", fromJson.ToJson());
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Merge_ShardedAccumulators_EqualSinglePass()
    {
        var reader = Penguins();
        var spec = SkewTests.PenguinsSpec();
        var estimator = new TransformEstimator(spec);
        var single = estimator.Fit(reader);
        var all = reader.ReadBatches().Single();
        // Three shards of uneven size, each shipped as JSON like a fan-out activity would.
        int[][] shards = [Enumerable.Range(0, 100).ToArray(), Enumerable.Range(100, 17).ToArray(), Enumerable.Range(117, all.RowCount - 117).ToArray()];
        var merged = estimator.CreateAccumulator(reader.Schema);
        foreach (var rows in shards)
        {
            var acc = estimator.CreateAccumulator(reader.Schema);
            acc.Add(all.Select(rows));
            merged.Merge(estimator.AccumulatorFromJson(acc.ToJson(), reader.Schema));
        }
        var fromShards = estimator.Finish(merged);
        Assert.Equal(single.Width, fromShards.Width);
        for (var i = 0; i < single.Features.Count; i++)
        {
            FittedFeature a = single.Features[i], b = fromShards.Features[i];
            Assert.Equal(a.Vocabulary, b.Vocabulary);
            Assert.Equal(a.IntVocabulary, b.IntVocabulary);
            Assert.Equal(a.Boundaries, b.Boundaries);
            Assert.Equal(a.StringTable?.OrderBy(p => p.Key, StringComparer.Ordinal), b.StringTable?.OrderBy(p => p.Key, StringComparer.Ordinal));
            Assert.Equal(a.FillValue ?? 0, b.FillValue ?? 0, 9);
            Assert.Equal(a.Center, b.Center, 9);
            Assert.Equal(a.Scale, b.Scale, 9);
        }
        Assert.Equal(single.Label!.Classes, fromShards.Label!.Classes);
        var x = single.Apply(all).Features;
        var y = fromShards.Apply(all).Features;
        for (var i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= 1e-6, $"element {i}: {x[i]} vs {y[i]}");
    }

    [Fact]
    public void SaveLoad_FittedTransform_SameOutputsAndOnnxRunsRawInputs()
    {
        var reader = Penguins();
        var t = new TransformEstimator(SkewTests.PenguinsSpec()).Fit(reader);
        var batch = reader.ReadBatches().Single();
        var dir = Directory.CreateTempSubdirectory("transform-artifact");
        try
        {
            t.Save(dir.FullName);
            var loaded = FittedTransform.Load(dir.FullName);
            Assert.Equal(t.Apply(batch).Features, loaded.Apply(batch).Features);
            Assert.Equal(t.Layout, loaded.Layout);
            using var session = InferenceSession.FromFile(Path.Combine(dir.FullName, FittedTransform.OnnxFileName));
            Assert.Equal(t.RawInputs.Select(c => c.Name), session.Inputs.Select(i => i.Name));
            Assert.DoesNotContain("species", session.Inputs.Select(i => i.Name));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void WriteExamples_Penguins_ReadBackMatrixAndLabels()
    {
        var reader = Penguins();
        var t = new TransformEstimator(SkewTests.PenguinsSpec()).Fit(reader);
        var path = Path.Combine(Path.GetTempPath(), $"transformed-{Guid.NewGuid():N}.smlc");
        try
        {
            Assert.Equal(344, t.WriteExamples(reader, path));
            var back = TransformedExamples.ReadAll([path]);
            var expected = t.Apply(reader.ReadBatches().Single());
            Assert.Equal((344, t.Width), (back.Rows, back.Width));
            Assert.Equal(expected.Features, back.Features);
            Assert.Equal(expected.Labels, back.Labels);
            Assert.All(back.Labels!, l => Assert.InRange(l, 0, 2));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

using Serverless.Ml.Data.Csv;
using Serverless.Ml.Data.Schemas;
using Serverless.Ml.Data.Statistics;
using Serverless.Ml.Data.Validation;

namespace Serverless.Ml.Data.Tests;

public sealed class SchemaValidationTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private DatasetFeatureStatistics Stats(string csv, string name = "train", CsvReadOptions? options = null) =>
        StatisticsBuilder.Compute(CsvReader.Open(_dir.Write(name + Guid.NewGuid().ToString("N")[..6] + ".csv", csv), options), name);

    private static DatasetFeatureStatistics Penguins() => StatisticsBuilder.Compute(CsvReader.Open(SharedData.Dataset("penguins.csv")), "train");

    [Fact]
    public void Infer_Penguins_TypesPresenceAndDomains()
    {
        var schema = SchemaInference.Infer(Penguins());
        var species = schema.Find("species")!;
        Assert.Equal(FeatureType.STRING, species.Type);
        Assert.Equal(1, species.Presence!.MinFraction);
        Assert.Equal(["Adelie", "Chinstrap", "Gentoo"], species.StringDomain!.Value);
        var sex = schema.Find("sex")!;
        Assert.Equal(0, sex.Presence!.MinFraction); // has NA rows: optional
        Assert.Equal(1, sex.Presence.MinCount);
        var bill = schema.Find("bill_length_mm")!;
        Assert.Equal(FeatureType.FLOAT, bill.Type);
        Assert.True(bill.DisallowNan);
        Assert.Null(bill.FloatDomain); // numeric ranges are off by default
        Assert.Equal(FeatureType.INT, schema.Find("year")!.Type);
        Assert.Equal(1, bill.ValueCount!.Max);
        var withRanges = SchemaInference.Infer(Penguins(), new SchemaInferenceOptions { InferNumericRanges = true, MaxStringDomainSize = 2 });
        Assert.Equal(2007, withRanges.Find("year")!.IntDomain!.Min);
        Assert.Null(withRanges.Find("species")!.StringDomain);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Validate_NulAndInvalidUtf8InCsv_CountedInStatisticsAndReported(bool fused)
    {
        // Issue 18 item 12: a NUL byte turned a number column into text, silently; invalid UTF-8 passed unnoticed.
        var path = _dir.File("odd.csv");
        File.WriteAllBytes(path, [.. "n,city,note\n1,Oslo,a\n2,Bergen,b\n"u8, .. "3\0,Caf"u8, 0xE9, .. ",c\n4,Oslo,d\0d\n5,Oslo,e\n"u8]);
        var reader = CsvReader.Open(path);
        var stats = fused
            ? StatisticsBuilder.Compute(reader, "train")
            : StatisticsBuilder.Compute(new ColumnarCopy(reader, _dir.File("odd.smlc")), "train");

        var n = stats.Find("n")!;
        Assert.Equal(FeatureType.STRING, n.Type);
        Assert.Equal((1L, 0L), (n.StringStats!.NulCount, n.StringStats.InvalidUtf8Count));
        Assert.Equal((0L, 1L), (stats.Find("city")!.StringStats!.NulCount, stats.Find("city")!.StringStats!.InvalidUtf8Count));
        Assert.Equal(1L, stats.Find("note")!.StringStats!.NulCount);
        Assert.Contains("\"nul_count\": 1", new DatasetFeatureStatisticsList { Datasets = [stats] }.ToJson(), StringComparison.Ordinal);

        var schema = new DatasetSchema { Feature = [new() { Name = "n", Type = FeatureType.INT }, new() { Name = "city", Type = FeatureType.STRING }, new() { Name = "note", Type = FeatureType.STRING }] };
        var anomalies = ExampleValidation.Validate(stats, schema);
        Assert.Equal([AnomalyTypes.NulCharacters, AnomalyTypes.UnexpectedDataType], anomalies.For("n").Select(a => a.Type));
        Assert.Equal([AnomalyTypes.InvalidUtf8], anomalies.For("city").Select(a => a.Type));
        Assert.Equal([AnomalyTypes.NulCharacters], anomalies.For("note").Select(a => a.Type));
        Assert.DoesNotContain('\0', anomalies.ToJson());
    }

    /// <summary>The batch path as StatisticsGen runs it: the CSV written to a columnar file by ExampleGen's writer, read back.</summary>
    private sealed class ColumnarCopy : IRecordBatchReader
    {
        private readonly Columnar.ColumnarReader _inner;

        public ColumnarCopy(CsvReader csv, string path)
        {
            using (var w = new Columnar.ColumnarWriter(path, csv.Schema))
            {
                foreach (var b in csv.ReadBatches()) w.Write(b);
            }
            _inner = new Columnar.ColumnarReader([path]);
        }

        public TableSchema Schema => _inner.Schema;

        public IEnumerable<RecordBatch> ReadBatches(CancellationToken cancellation = default) => _inner.ReadBatches(cancellation);
    }

    [Fact]
    public void Validate_PenguinsAgainstOwnSchema_NoAnomalies()
    {
        var stats = Penguins();
        var anomalies = ExampleValidation.Validate(stats, SchemaInference.Infer(stats));
        Assert.False(anomalies.HasAnomalies, anomalies.ToJson());
    }

    [Fact]
    public void SaveLoad_CuratedSchema_RoundTripsAndRejectsBadFiles()
    {
        var schema = SchemaInference.Infer(Penguins());
        schema.Find("body_mass_g")!.IntDomain = new IntDomain { Min = 2000, Max = 7000 };
        var path = _dir.File("schema.json");
        schema.Save(path);
        Assert.Contains("\"string_domain\"", File.ReadAllText(path), StringComparison.Ordinal);
        var back = DatasetSchema.Load(path);
        Assert.Equal(schema.ToJson(), back.ToJson());
        File.WriteAllText(path, """{"feature":[{"name":"a","type":"INT"},{"name":"a","type":"INT"}]}""");
        var dup = Assert.Throws<InvalidDataException>(() => DatasetSchema.Load(path));
        Assert.Contains("listed twice", dup.Message, StringComparison.Ordinal);
        File.WriteAllText(path, """{"feature":[{"name":"a","type":"WHAT"}]}""");
        Assert.Throws<InvalidDataException>(() => DatasetSchema.Load(path));
    }

    [Fact]
    public void Validate_BrokenData_ReportsEachAnomalyType()
    {
        var train = Stats("id,color,size,score,gone\n1,red,1.5,10,x\n2,blue,2.5,20,y\n3,red,3.5,30,z\n");
        var schema = SchemaInference.Infer(train);
        schema.Find("score")!.IntDomain = new IntDomain { Min = 0, Max = 100 };
        schema.Find("size")!.FloatDomain = new FloatDomain { Min = 0, Max = 10 };
        schema.DatasetConstraints = new DatasetConstraints { MinExamplesCount = 5 };
        var evalStats = Stats("id,color,size,score,extra\n1,green,NaN,500,q\n,red,-1,-3,r\n3,purple,2,5,s\n", "eval");
        var anomalies = ExampleValidation.Validate(evalStats, schema);
        var types = anomalies.Items.Select(a => (a.Feature, a.Type)).ToHashSet();
        Assert.Contains((null, AnomalyTypes.LowNumExamples), types);
        Assert.Contains(("gone", AnomalyTypes.MissingColumn), types);
        Assert.Contains(("extra", AnomalyTypes.NewColumn), types);
        Assert.Contains(("id", AnomalyTypes.LowFractionPresent), types);
        Assert.Contains(("color", AnomalyTypes.UnexpectedStringValues), types);
        Assert.Contains(("score", AnomalyTypes.BigInt), types);
        Assert.Contains(("score", AnomalyTypes.SmallInt), types);
        Assert.Contains(("size", AnomalyTypes.SmallFloat), types);
        Assert.Contains(("size", AnomalyTypes.HasNan), types);
        var colors = anomalies.For("color").Single();
        Assert.Contains("'green' (1)", colors.Description, StringComparison.Ordinal);
        Assert.Contains("'purple' (1)", colors.Description, StringComparison.Ordinal);
        Assert.Equal(anomalies.ToJson(), Anomalies.FromJson(anomalies.ToJson()).ToJson());
    }

    [Fact]
    public void Validate_TypeMismatchAndShardTypeConflict_ReportedNotThrown()
    {
        var train = Stats("a\n1\n2\n");
        var schema = SchemaInference.Infer(train);
        var text = Stats("a\nx\n", "eval");
        Assert.Contains(ExampleValidation.Validate(text, schema).Items, a => a is { Feature: "a", Type: AnomalyTypes.UnexpectedDataType });

        var shard1 = new StatisticsBuilder();
        var shard2 = new StatisticsBuilder();
        var s1 = new TableSchema([new ColumnSpec("a", ColumnKind.Int64)]);
        var s2 = new TableSchema([new ColumnSpec("a", ColumnKind.String)]);
        shard1.Add(new RecordBatch(s1, [new Int64Column(s1.Columns[0], [1], [false], 1)], 1));
        shard2.Add(new RecordBatch(s2, [StringColumn.FromValues(s2.Columns[0], ["x"])], 1));
        shard1.Merge(shard2);
        var anomaly = Assert.Single(ExampleValidation.Validate(shard1.Build("train"), schema).Items);
        Assert.Equal(AnomalyTypes.UnexpectedDataType, anomaly.Type);
        Assert.Contains("INT, STRING", anomaly.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DriftAndSkew_ThresholdsPerFeature()
    {
        var previous = Stats("c,x\n" + string.Concat(Enumerable.Range(0, 100).Select(i => $"{(i % 2 == 0 ? "a" : "b")},{i % 10}\n")), "span1");
        var current = Stats("c,x\n" + string.Concat(Enumerable.Range(0, 100).Select(i => $"{(i % 10 == 0 ? "b" : "a")},{50 + (i % 10)}\n")), "span2");
        var schema = SchemaInference.Infer(previous);
        schema.Find("c")!.DriftComparator = new FeatureComparator { InfinityNormThreshold = 0.2 };
        schema.Find("x")!.DriftComparator = new FeatureComparator { JensenShannonDivergenceThreshold = 0.1 };
        schema.Find("c")!.SkewComparator = new FeatureComparator { InfinityNormThreshold = 0.5 };
        var anomalies = ExampleValidation.Validate(current, schema, previous: previous, serving: previous);
        var drift = anomalies.For("c").Where(a => a.Type == AnomalyTypes.LInftyHigh).ToList();
        Assert.Equal(1, drift.Count(a => a.ShortDescription.Contains("drift", StringComparison.Ordinal)));
        Assert.Contains("0.4", drift[0].Description, StringComparison.Ordinal); // a: 0.9 vs 0.5
        Assert.DoesNotContain(drift, a => a.ShortDescription.Contains("skew", StringComparison.Ordinal)); // 0.4 <= 0.5
        Assert.Contains(anomalies.For("x"), a => a.Type == AnomalyTypes.JensenShannonHigh);
        var same = ExampleValidation.Validate(previous, schema, previous: previous);
        Assert.DoesNotContain(same.Items, a => a.Type is AnomalyTypes.LInftyHigh or AnomalyTypes.JensenShannonHigh);
    }

    [Fact]
    public void JensenShannon_IdenticalDisjointAndShifted_Bounds()
    {
        static Histogram H(double lo, double hi, params double[] counts)
        {
            var w = (hi - lo) / counts.Length;
            return new Histogram { Buckets = counts.Select((c, i) => new HistogramBucket { LowValue = lo + (i * w), HighValue = lo + ((i + 1) * w), SampleCount = c }).ToList() };
        }
        Assert.Equal(0, ExampleValidation.JensenShannon(H(0, 10, 1, 2, 3), H(0, 10, 2, 4, 6)), 12);
        Assert.Equal(1, ExampleValidation.JensenShannon(H(0, 1, 5), H(2, 3, 5)), 12);
        var half = ExampleValidation.JensenShannon(H(0, 2, 1, 1), H(1, 3, 1, 1));
        Assert.InRange(half, 0.4, 0.6);
    }
}

using Serverless.Metadata;
using Serverless.Ml.Components.ExampleValidator;
using Serverless.Ml.Components.SchemaGen;
using Serverless.Ml.Data.Schemas;
using Serverless.Ml.Data.Validation;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.Tests.ExampleValidator;

public sealed class ExampleValidatorExecutorTests : IDisposable
{
    private readonly NodeHarness harness = new();

    public void Dispose() => harness.Dispose();

    /// <summary>The schema SchemaGen infers from the original penguins, with drift/skew comparators added, as a curated file.</summary>
    private async Task<string> CuratedSchemaAsync()
    {
        harness.Temp.Write("base/penguins.csv", PenguinVariants.Original);
        var results = await harness.RunAsync(
            "base",
            Nodes.CsvGen("gen", harness.Temp.Combine("base"), more: new() { ["output_splits"] = "train:1" }),
            Nodes.Stats("stats", "gen"),
            Nodes.Schema("schema", "stats"));
        var schema = DatasetSchema.FromJson(harness.ReadText(results["schema"].Outputs["schema"], SchemaGenExecutor.SchemaPath));
        schema.Find("body_mass_g")!.DriftComparator = new FeatureComparator { JensenShannonDivergenceThreshold = 0.1 };
        schema.Find("body_mass_g")!.SkewComparator = new FeatureComparator { JensenShannonDivergenceThreshold = 0.1 };
        schema.Find("species")!.DriftComparator = new FeatureComparator { InfinityNormThreshold = 0.05 };
        var file = harness.Temp.Combine("curated/schema.json");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        schema.Save(file);
        return file;
    }

    private async Task<(NodeRunResult Result, Anomalies? Anomalies)> ValidateAsync(string pipeline, string csv, Dictionary<string, MetadataValue>? parameters = null)
    {
        var schemaFile = await CuratedSchemaAsync();
        harness.Temp.Write($"{pipeline}/data.csv", csv);
        var results = await harness.RunAsync(
            pipeline,
            Nodes.CsvGen("gen", harness.Temp.Combine(pipeline), more: new() { ["output_splits"] = "train:1" }),
            Nodes.Stats("stats", "gen"),
            Nodes.Node("schema", "ImportSchemaGen", new() { ["schema_file"] = schemaFile }),
            Nodes.Validate("validate", "stats", "schema", parameters));
        var result = results["validate"];
        return (result, result.Succeeded ? Anomalies.FromJson(harness.ReadText(result.Outputs["anomalies"], ExampleValidatorExecutor.AnomaliesPath("train"))) : null);
    }

    [Fact]
    public async Task Execute_OriginalData_NoAnomalies()
    {
        var (result, anomalies) = await ValidateAsync("ok", PenguinVariants.Original);
        Assert.True(result.Succeeded, result.Error);
        Assert.Empty(anomalies!.Items);
        Assert.Equal(0, result.Outputs["anomalies"].Properties[MlProperties.AnomalyCount].IntValue);
    }

    [Fact]
    public async Task Execute_NewCategory_ReportsUnexpectedStringValues()
    {
        var (result, anomalies) = await ValidateAsync("cat", PenguinVariants.NewCategory);
        var anomaly = Assert.Single(anomalies!.For("species"));
        Assert.Equal(AnomalyTypes.UnexpectedStringValues, anomaly.Type);
        Assert.Contains("'Dodo' (3)", anomaly.Description, StringComparison.Ordinal);
        Assert.Equal(1, result.Outputs["anomalies"].Properties["anomaly_count_train"].IntValue);
    }

    [Fact]
    public async Task Execute_MissingColumn_ReportsSchemaMissingColumn()
    {
        var (_, anomalies) = await ValidateAsync("col", PenguinVariants.MissingColumn);
        Assert.Equal(AnomalyTypes.MissingColumn, Assert.Single(anomalies!.Items).Type);
        Assert.Equal("island", anomalies.Items[0].Feature);
    }

    [Fact]
    public async Task Execute_TypeChange_ReportsUnexpectedDataType()
    {
        var (_, anomalies) = await ValidateAsync("type", PenguinVariants.TypeChange);
        Assert.Contains(anomalies!.For("year"), a => a.Type == AnomalyTypes.UnexpectedDataType);
    }

    [Fact]
    public async Task Execute_TextAfterRow10000OfAnIntColumnInTheNextSpan_IngestedAndReportedAsTypeChange()
    {
        // Issue 16 item 4, TFX's behaviour: ExampleGen ingests a text value at line 20,002 of an integer column (the
        // column widens to STRING over the whole input), and ExampleValidator, against the schema SchemaGen inferred
        // from the earlier span, reports the type change.
        static string Span(string? late)
        {
            var sb = new System.Text.StringBuilder("id,count,price\n");
            for (var line = 2; line <= 25_001; line++)
            {
                sb.Append(line).Append(',').Append(line == 20_002 && late is not null ? late : (line % 97).ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(',').Append(line * 3).Append('\n');
            }

            return sb.ToString();
        }

        harness.Temp.Write("widen/span-1/data.csv", Span(null));
        harness.Temp.Write("widen/span-2/data.csv", Span("twelve"));
        var first = await harness.RunAsync(
            "widen",
            Nodes.CsvGen("gen", harness.Temp.Combine("widen"), "span-{SPAN}/*.csv", new() { ["output_splits"] = "train:1", ["span"] = 1L }),
            Nodes.Stats("stats", "gen"),
            Nodes.Schema("schema", "stats"));
        Assert.True(first["schema"].Succeeded, first["schema"].Error);
        var schemaFile = harness.Temp.Combine("widen-schema/schema.json");
        Directory.CreateDirectory(Path.GetDirectoryName(schemaFile)!);
        File.WriteAllText(schemaFile, harness.ReadText(first["schema"].Outputs["schema"], SchemaGenExecutor.SchemaPath));
        Assert.Equal("INT", DatasetSchema.Load(schemaFile).Find("count")!.Type.ToString());

        var second = await harness.RunAsync(
            "widen",
            Nodes.CsvGen("gen", harness.Temp.Combine("widen"), "span-{SPAN}/*.csv", new() { ["output_splits"] = "train:1", ["span"] = 2L }),
            Nodes.Stats("stats", "gen"),
            Nodes.Node("schema", "ImportSchemaGen", new() { ["schema_file"] = schemaFile }),
            Nodes.Validate("validate", "stats", "schema"));
        Assert.True(second["gen"].Succeeded, second["gen"].Error);
        Assert.Equal(25_000, second["gen"].Outputs["examples"].Properties[MlProperties.RowCount].IntValue);
        Assert.True(second["validate"].Succeeded, second["validate"].Error);
        var anomalies = Anomalies.FromJson(harness.ReadText(second["validate"].Outputs["anomalies"], ExampleValidatorExecutor.AnomaliesPath("train")));
        var anomaly = Assert.Single(anomalies.Items);
        Assert.Equal(("count", AnomalyTypes.UnexpectedDataType), (anomaly.Feature, anomaly.Type));
    }

    [Fact]
    public async Task Execute_NulByteAndInvalidUtf8InCsv_ReportedNotSilent()
    {
        // Issue 18 item 12: a NUL in body_mass_g (a number column) and a Latin-1 byte in island went through
        // ExampleGen and StatisticsGen unnoticed; now both are counted and ExampleValidator reports them.
        var schemaFile = await CuratedSchemaAsync();
        var text = PenguinVariants.Original.Split('\n');
        var row = Array.FindIndex(text, l => l.Contains(",3250,", StringComparison.Ordinal));
        text[row] = text[row].Replace(",3250,", ",3250\0,", StringComparison.Ordinal);
        var bytes = System.Text.Encoding.UTF8.GetBytes(string.Join('\n', text)).ToList();
        var at = bytes.IndexOf((byte)'T') + 1; // the first "Torgersen": one byte replaced by an invalid sequence
        bytes[at] = 0xF8;
        var file = harness.Temp.Combine("odd/data.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllBytes(file, [.. bytes]);
        Assert.Contains(",3250\0,", text[row], StringComparison.Ordinal);

        var results = await harness.RunAsync(
            "odd",
            Nodes.CsvGen("gen", harness.Temp.Combine("odd"), more: new() { ["output_splits"] = "train:1" }),
            Nodes.Stats("stats", "gen"),
            Nodes.Node("schema", "ImportSchemaGen", new() { ["schema_file"] = schemaFile }),
            Nodes.Validate("validate", "stats", "schema"));
        Assert.True(results["validate"].Succeeded, results["validate"].Error);
        var anomalies = Anomalies.FromJson(harness.ReadText(results["validate"].Outputs["anomalies"], ExampleValidatorExecutor.AnomaliesPath("train")));
        Assert.Contains(anomalies.For("body_mass_g"), a => a.Type == AnomalyTypes.NulCharacters);
        Assert.Contains(anomalies.For("body_mass_g"), a => a.Type == AnomalyTypes.UnexpectedDataType);
        Assert.Contains(anomalies.For("island"), a => a.Type == AnomalyTypes.InvalidUtf8);
    }

    [Fact]
    public async Task Execute_OnlySplitExcluded_FailsSayingNoSplitIsLeft()
    {
        var (result, _) = await ValidateAsync("excl", PenguinVariants.NewCategory, new() { ["exclude_splits"] = "eval, train", ["fail_on_anomalies"] = true });
        Assert.False(result.Succeeded);
        Assert.Contains("no split to validate", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("ENUM_TYPE_UNEXPECTED_STRING_VALUES", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_FailOnAnomalies_FailsTheNodeListingThem()
    {
        var (result, _) = await ValidateAsync("stop", PenguinVariants.NewCategory, new() { ["fail_on_anomalies"] = true });
        Assert.False(result.Succeeded);
        Assert.Contains(nameof(DataAnomaliesException), result.Error, StringComparison.Ordinal);
        Assert.Contains("ENUM_TYPE_UNEXPECTED_STRING_VALUES", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_ShiftedDistributionInNextSpan_ReportsDriftAgainstPreviousSpanFromMetadata()
    {
        var schemaFile = await CuratedSchemaAsync();
        harness.Temp.Write("spans/span-1/data.csv", PenguinVariants.Original);
        harness.Temp.Write("spans/span-2/data.csv", PenguinVariants.ShiftedMass);
        NodeDefinition[] Pipeline(long span) =>
        [
            Nodes.CsvGen("gen", harness.Temp.Combine("spans"), "span-{SPAN}/*.csv", new() { ["output_splits"] = "train:1", ["span"] = span }),
            Nodes.Stats("stats", "gen"),
            Nodes.Node("schema", "ImportSchemaGen", new() { ["schema_file"] = schemaFile }),
            Nodes.Validate("validate", "stats", "schema"),
        ];

        var first = (await harness.RunAsync("drift", Pipeline(1)))["validate"];
        Assert.Equal(0, first.Outputs["anomalies"].Properties[MlProperties.AnomalyCount].IntValue);
        Assert.False(first.Outputs["anomalies"].Properties.ContainsKey("drift_baseline_uri"));

        var second = (await harness.RunAsync("drift", Pipeline(2)))["validate"];
        var output = second.Outputs["anomalies"];
        Assert.Equal(2, output.Properties[MlProperties.Span].IntValue);
        Assert.StartsWith("drift/stats/statistics/run", output.Properties["drift_baseline_uri"].StringValue, StringComparison.Ordinal);
        var anomalies = Anomalies.FromJson(harness.ReadText(output, ExampleValidatorExecutor.AnomaliesPath("train")));
        var drift = Assert.Single(anomalies.Items);
        Assert.Equal(("body_mass_g", AnomalyTypes.JensenShannonHigh), (drift.Feature, drift.Type));
        Assert.Contains("previous span", drift.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_ServingStatisticsShifted_ReportsSkew()
    {
        var schemaFile = await CuratedSchemaAsync();
        harness.Temp.Write("train/data.csv", PenguinVariants.Original);
        harness.Temp.Write("serving/data.csv", PenguinVariants.ShiftedMass);
        var results = await harness.RunAsync(
            "skew",
            Nodes.CsvGen("gen", harness.Temp.Combine("train"), more: new() { ["output_splits"] = "train:1" }),
            Nodes.CsvGen("serving_gen", harness.Temp.Combine("serving"), more: new() { ["output_splits"] = "serving:1" }),
            Nodes.Stats("stats", "gen"),
            Nodes.Stats("serving_stats", "serving_gen"),
            Nodes.Node("schema", "ImportSchemaGen", new() { ["schema_file"] = schemaFile }),
            Nodes.Validate("validate", "stats", "schema", null, ("serving_statistics", "serving_stats.statistics")));
        Assert.True(results["validate"].Succeeded, results["validate"].Error);
        var anomalies = Anomalies.FromJson(harness.ReadText(results["validate"].Outputs["anomalies"], ExampleValidatorExecutor.AnomaliesPath("train")));
        var skew = Assert.Single(anomalies.Items);
        Assert.Equal(("body_mass_g", AnomalyTypes.JensenShannonHigh), (skew.Feature, skew.Type));
        Assert.Contains("serving data", skew.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_FeatureTypeChangesBetweenShards_ReportsAnomalyInsteadOfCrashing()
    {
        // Two real shards of one split whose 'x' column differs in type (int64 in one, string in the other).
        harness.Temp.Write("ints/a.csv", "x,y\n1,a\n2,b\n3,c\n");
        harness.Temp.Write("texts/a.csv", "x,y\none,d\ntwo,e\n");
        var ints = (await harness.RunAsync("src1", Nodes.CsvGen("gen", harness.Temp.Combine("ints"), more: new() { ["output_splits"] = "train:1" })))["gen"].Outputs["examples"];
        var texts = (await harness.RunAsync("src2", Nodes.CsvGen("gen", harness.Temp.Combine("texts"), more: new() { ["output_splits"] = "train:1" })))["gen"].Outputs["examples"];
        var mixed = harness.Temp.Combine("mixed/Split-train");
        Directory.CreateDirectory(mixed);
        File.Copy(harness.FileOf(ints, "Split-train/data_columnar-00000-of-00001.smlc"), Path.Combine(mixed, "data_columnar-00000-of-00002.smlc"));
        File.Copy(harness.FileOf(texts, "Split-train/data_columnar-00000-of-00001.smlc"), Path.Combine(mixed, "data_columnar-00001-of-00002.smlc"));
        var schemaFile = harness.Temp.Write("schema/schema.json", """{"feature":[{"name":"x","type":"INT"},{"name":"y","type":"STRING"}]}""");

        var results = await harness.RunAsync(
            "mixed",
            Nodes.Node("import", "FileCopy", new() { ["source"] = harness.Temp.Combine("mixed") }),
            Nodes.Stats("stats", "import"),
            Nodes.Node("schema", "ImportSchemaGen", new() { ["schema_file"] = schemaFile }),
            Nodes.Validate("validate", "stats", "schema"));
        Assert.True(results["validate"].Succeeded, results["stats"].Error ?? results["validate"].Error);
        var anomalies = Anomalies.FromJson(harness.ReadText(results["validate"].Outputs["anomalies"], ExampleValidatorExecutor.AnomaliesPath("train")));
        var anomaly = Assert.Single(anomalies.For("x"));
        Assert.Equal(AnomalyTypes.UnexpectedDataType, anomaly.Type);
        Assert.Contains("STRING", anomaly.Description, StringComparison.Ordinal);
    }
}

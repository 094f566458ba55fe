using Serverless.Metadata;
using Serverless.Ml.Data.TfRecord;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.Tests.ExampleGen;

public sealed class CsvExampleGenExecutorTests : IDisposable
{
    private readonly NodeHarness harness = new();

    public void Dispose() => harness.Dispose();

    private string Data(string name, string content) => harness.Temp.Write($"in/{name}", content);

    [Fact]
    public async Task Execute_Penguins_WritesSplitShardsAndRecordsRowCountsInMetadata()
    {
        var results = await harness.RunAsync("p", Nodes.CsvGen("gen", TestData.DatasetsFolder, "penguins.csv"));
        var gen = results["gen"];
        Assert.True(gen.Succeeded, gen.Error);
        var examples = gen.Outputs["examples"];
        Assert.Equal("[\"train\",\"eval\"]", examples.Properties[MlProperties.SplitNames].StringValue);
        Assert.Equal(344, examples.Properties[MlProperties.RowCount].IntValue);
        var train = examples.Properties["row_count_train"].IntValue;
        var eval = examples.Properties["row_count_eval"].IntValue;
        Assert.Equal(344, train + eval);
        Assert.InRange(train, 200, 260); // 2 : 1 hash buckets
        Assert.Equal(0, examples.Properties[MlProperties.BadRowCount].IntValue);

        // TensorFlow's framing: every record of the train shard reads back with CRCs checked.
        var shard = harness.FileOf(examples, "Split-train/data_tfrecord-00000-of-00001");
        Assert.Equal(train, TfRecordReader.ReadAll(shard).Count());

        // Properties are in the metadata store, not only in the result.
        var stored = await harness.Metadata.GetArtifactAsync(examples.Id);
        Assert.Equal(344, stored!.CustomProperties[MlProperties.RowCount].IntValue);
    }

    [Fact]
    public async Task Execute_SpanPattern_TakesLatestSpanAndRecordsIt()
    {
        Data("span-1/a.csv", "x,y\n1,a\n2,b\n");
        Data("span-2/a.csv", "x,y\n3,c\n4,d\n5,e\n");
        Data("span-10/a.csv", "x,y\n6,f\n");
        var results = await harness.RunAsync("p", Nodes.CsvGen("gen", harness.Temp.Combine("in"), "span-{SPAN}/*.csv"));
        var examples = results["gen"].Outputs["examples"];
        Assert.Equal(10, examples.Properties[MlProperties.Span].IntValue);
        Assert.Equal(1, examples.Properties[MlProperties.RowCount].IntValue);

        var pinned = await harness.RunAsync("p", Nodes.CsvGen("gen2", harness.Temp.Combine("in"), "span-{SPAN}/*.csv", new() { ["span"] = 2L }));
        Assert.Equal(2, pinned["gen2"].Outputs["examples"].Properties[MlProperties.Span].IntValue);
        Assert.Equal(3, pinned["gen2"].Outputs["examples"].Properties[MlProperties.RowCount].IntValue);
    }

    [Fact]
    public async Task Execute_PreSplitPatterns_KeepsInputSplits()
    {
        Data("train/a.csv", "x;y\n1;a\n2;b\n3;c\n");
        Data("eval/a.csv", "x;y\n4;d\n");
        var results = await harness.RunAsync("p", Nodes.CsvGen("gen", harness.Temp.Combine("in"), more: new() { ["split_patterns"] = "train:train/*.csv,eval:eval/*.csv", ["delimiter"] = ";" }));
        var examples = results["gen"].Outputs["examples"];
        Assert.Equal(3, examples.Properties["row_count_train"].IntValue);
        Assert.Equal(1, examples.Properties["row_count_eval"].IntValue);
    }

    [Fact]
    public async Task Execute_BadRowByDefault_FailsNamingFileLineAndColumn()
    {
        var file = Data("bad.csv", "x,y\n1,2\n3,oops\n5,6\n");
        var results = await harness.RunAsync("p", Nodes.CsvGen("gen", harness.Temp.Combine("in"), more: new() { ["type_overrides"] = "y:int64" }));
        var gen = results["gen"];
        Assert.False(gen.Succeeded);
        Assert.Contains(file, gen.Error, StringComparison.Ordinal);
        Assert.Contains("3", gen.Error, StringComparison.Ordinal); // physical line 3
        Assert.Contains("'y'", gen.Error!.Replace("\"", "'", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Empty(gen.Outputs);
    }

    [Fact]
    public async Task Execute_BadRowsWithinTolerance_SkipsAndCountsThem()
    {
        Data("bad.csv", "x,y\n1,2\n3,oops\n5,6\n7\n9,10\n");
        var results = await harness.RunAsync("p", Nodes.CsvGen("gen", harness.Temp.Combine("in"), more: new() { ["max_bad_rows"] = 5L, ["type_overrides"] = "y:int64" }));
        var examples = results["gen"].Outputs["examples"];
        Assert.Equal(2, examples.Properties[MlProperties.BadRowCount].IntValue);
        Assert.Equal(3, examples.Properties[MlProperties.RowCount].IntValue);
    }

    [Fact]
    public async Task Execute_EmptyInput_FailsInsteadOfPublishingAnEmptyArtifact()
    {
        Data("empty.csv", "x,y\n");
        var results = await harness.RunAsync("p", Nodes.CsvGen("gen", harness.Temp.Combine("in")));
        Assert.False(results["gen"].Succeeded);
        Assert.Contains("empty", results["gen"].Error, StringComparison.OrdinalIgnoreCase);
        Assert.False(Directory.Exists(Path.Combine(harness.BlobRoot, "p", "gen", "examples")) && Directory.EnumerateFiles(Path.Combine(harness.BlobRoot, "p", "gen", "examples"), "*", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public async Task Execute_MalformedSplitConfig_FailsNamingTheParameter()
    {
        Data("a.csv", "x\n1\n");
        var results = await harness.RunAsync("p", Nodes.CsvGen("gen", harness.Temp.Combine("in"), more: new() { ["output_splits"] = "train:two" }));
        Assert.False(results["gen"].Succeeded);
        Assert.Contains("output_splits", results["gen"].Error, StringComparison.Ordinal);
    }
}

using Serverless.Metadata;

namespace Serverless.Ml.Components.Tests.ExampleGen;

public sealed class ImportExampleGenExecutorTests : IDisposable
{
    private readonly NodeHarness harness = new();

    public void Dispose() => harness.Dispose();

    /// <summary>TFRecord files of tf.Example as our CsvExampleGen writes them (TensorFlow's framing).</summary>
    private async Task<string> TfRecordInputAsync()
    {
        harness.Temp.Write("csv/a.csv", "x,y,z\n1,a,0.5\n2,b,1.5\n3,c,2.5\n4,d,3.5\n5,e,4.5\n6,f,5.5\n");
        var gen = (await harness.RunAsync("src", Nodes.CsvGen("gen", harness.Temp.Combine("csv"), more: new() { ["output_splits"] = "all:1" })))["gen"];
        var folder = harness.Temp.Combine("tfrecords");
        Directory.CreateDirectory(folder);
        var target = Path.Combine(folder, "part-0.tfrecord");
        File.Copy(harness.FileOf(gen.Outputs["examples"], "Split-all/data_tfrecord-00000-of-00001"), target);
        return target;
    }

    [Fact]
    public async Task Execute_TfRecordFiles_ReadsEveryExampleWithItsTypes()
    {
        var file = await TfRecordInputAsync();
        var results = await harness.RunAsync("p", Nodes.Node("imp", "ImportExampleGen", new() { ["input_base"] = Path.GetDirectoryName(file)!, ["output_splits"] = "train:1" }));
        Assert.True(results["imp"].Succeeded, results["imp"].Error);
        var examples = results["imp"].Outputs["examples"];
        Assert.Equal(6, examples.Properties[MlProperties.RowCount].IntValue);
        Assert.Equal("TFRECORD", examples.Properties["format"].StringValue);
        Assert.True(File.Exists(harness.FileOf(examples, "Split-train/data_tfrecord-00000-of-00001.gz")));
    }

    [Fact]
    public async Task Execute_BadCrc_FailsNamingFileAndByteOffset()
    {
        var file = await TfRecordInputAsync();
        var bytes = File.ReadAllBytes(file);
        var firstLength = (int)BitConverter.ToUInt64(bytes, 0);
        var secondRecord = 8 + 4 + firstLength + 4;
        bytes[secondRecord + 12 + 2] ^= 0xFF; // a data byte of the second record: its data CRC no longer matches
        File.WriteAllBytes(file, bytes);
        var results = await harness.RunAsync("p", Nodes.Node("imp", "ImportExampleGen", new() { ["input_base"] = Path.GetDirectoryName(file)! }));
        var imp = results["imp"];
        Assert.False(imp.Succeeded);
        Assert.Contains(file, imp.Error, StringComparison.Ordinal);
        Assert.Contains(secondRecord.ToString(System.Globalization.CultureInfo.InvariantCulture), imp.Error, StringComparison.Ordinal);
        Assert.Contains("TfRecordFormatException", imp.Error, StringComparison.Ordinal);
    }
}

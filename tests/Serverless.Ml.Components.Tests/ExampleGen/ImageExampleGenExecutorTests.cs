using Serverless.Ml.Data.Idx;

namespace Serverless.Ml.Components.Tests.ExampleGen;

public sealed class ImageExampleGenExecutorTests : IDisposable
{
    private readonly NodeHarness harness = new();

    public void Dispose() => harness.Dispose();

    [Fact]
    public async Task Execute_IdxImagesAndLabels_WritesTensorAndLabelFeatures()
    {
        const int n = 30;
        var pixels = new byte[n * 4 * 3];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)(i % 251);
        }

        var labels = Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
        var folder = harness.Temp.Combine("idx");
        Directory.CreateDirectory(folder);
        IdxWriter.WriteUInt8(Path.Combine(folder, "tiny-images-idx3-ubyte"), [n, 4, 3], pixels);
        IdxWriter.WriteUInt8(Path.Combine(folder, "tiny-labels-idx1-ubyte"), [n], labels);

        var results = await harness.RunAsync(
            "p",
            Nodes.Node("gen", "ImageExampleGen", new() { ["input_base"] = folder, ["compression"] = "none" }),
            Nodes.Stats("stats", "gen"));
        Assert.True(results["gen"].Succeeded, results["gen"].Error);
        Assert.True(results["stats"].Succeeded, results["stats"].Error);
        Assert.Equal(n, results["gen"].Outputs["examples"].Properties[MlProperties.RowCount].IntValue);
        var schema = Components.StatisticsGen.TableSchemaJson.Read(harness.ReadText(results["stats"].Outputs["statistics"], "table_schema.json"));
        Assert.Equal([4, 3], schema.Columns.Single(c => c.Name == "image").Shape);
        Assert.Equal(Data.ColumnKind.Int64, schema.Columns.Single(c => c.Name == "label").Kind);
    }
}

using System.Text;
using Serverless.Metadata;
using Serverless.Pipelines;
using Serverless.Pipelines.Components.CsvRowCount;

namespace Serverless.Pipelines.Tests.Components;

public sealed class CsvRowCountExecutorTests
{
    [Theory]
    [InlineData("a,b\n1,2\n3,4\n", 3)]
    [InlineData("a,b\r\n1,2\r\n3,4", 3)]
    [InlineData("a,b\n\"multi\nline\",2\n\n3,4\n\n", 3)]
    [InlineData("", 0)]
    [InlineData("\n\n", 0)]
    [InlineData("\"a \"\"quoted\"\" value\",1\n2,3\n", 2)]
    public async Task CountRecordsAsync_Csv_CountsRecordsNotLines(string csv, long expected)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(csv));

        Assert.Equal(expected, await CsvRowCountExecutor.CountRecordsAsync(stream));
    }

    [Theory]
    [InlineData(true, 3)]
    [InlineData(false, 5)]
    public async Task ExecuteAsync_TwoCsvFilesAndAReadme_CountsDataRowsOfCsvFilesOnly(bool hasHeader, long expected)
    {
        var blobs = new InMemoryBlobStoreTestDouble();
        var staged = new OutputArtifact("examples", ArtifactTypes.Examples, "in", "_staging/in", blobs);
        await staged.WriteTextAsync("a.csv", "x\n1\n2\n");
        await staged.WriteTextAsync("b/c.CSV", "x\n3\n");
        await staged.WriteTextAsync("README.md", "not\ndata\n");
        var manifest = await new ArtifactPublisher(blobs).PublishAsync("_staging/in", "in", ArtifactTypes.Examples, MetadataMaps.Empty, "e0");
        var input = new InputArtifact("examples", new ArtifactRef(1, ArtifactTypes.Examples, "in", manifest.Fingerprint, MetadataMaps.Empty), manifest.Files, blobs);
        var output = new OutputArtifact("statistics", ArtifactTypes.ExampleStatistics, "out", "_staging/out", blobs);
        var context = new ExecutorContext { PipelineName = "p", RunId = "r", NodeId = "n", ExecutionId = "e", BlobStore = blobs };

        await new CsvRowCountExecutor().ExecuteAsync(
            new Dictionary<string, InputArtifact> { ["examples"] = input },
            new Dictionary<string, OutputArtifact> { ["statistics"] = output },
            new ComponentParameters(new Dictionary<string, MetadataValue> { ["has_header"] = hasHeader }),
            context);

        Assert.Equal(MetadataValue.FromInt(expected), output.Properties["row_count"]);
        Assert.Equal(MetadataValue.FromInt(2), output.Properties["file_count"]);
        Assert.Contains($"\"total_rows\":{expected}", blobs.ReadText("_staging/out/row_count.json"), StringComparison.Ordinal);
    }
}

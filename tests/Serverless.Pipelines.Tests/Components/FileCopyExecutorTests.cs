using Serverless.Metadata;
using Serverless.Pipelines;
using Serverless.Pipelines.Components.FileCopy;

namespace Serverless.Pipelines.Tests.Components;

public sealed class FileCopyExecutorTests
{
    [Fact]
    public async Task ExecuteAsync_Folder_CopiesTheTreeAndRecordsTheSourceFingerprint()
    {
        using var temp = new TempFolder();
        temp.Write("data/train/part-0.csv", "a\n1\n");
        temp.Write("data/eval/part-0.csv", "a\n2\n3\n");
        var source = Path.Combine(temp.Path, "data");
        var blobs = new InMemoryBlobStoreTestDouble();
        var output = new OutputArtifact("examples", ArtifactTypes.Examples, "out", "_staging/out", blobs);

        await new FileCopyExecutor().ExecuteAsync(
            new Dictionary<string, InputArtifact>(),
            new Dictionary<string, OutputArtifact> { ["examples"] = output },
            new ComponentParameters(new Dictionary<string, MetadataValue> { ["source"] = source }),
            new ExecutorContext { PipelineName = "p", RunId = "r", NodeId = "n", ExecutionId = "e", BlobStore = blobs });

        Assert.Equal(["_staging/out/eval/part-0.csv", "_staging/out/train/part-0.csv"], blobs.Names);
        Assert.Equal(MetadataValue.FromString(await Fingerprints.OfLocalPathAsync(source)), output.Properties["source_fingerprint"]);
        Assert.Equal(MetadataValue.FromInt(2), output.Properties["file_count"]);
        Assert.Equal(MetadataValue.FromInt(10), output.Properties["byte_count"]);
        Assert.Equal(MetadataValue.FromString(source), output.Properties["source_uri"]);
    }

    [Fact]
    public async Task ExecuteAsync_MissingSource_Throws()
    {
        var blobs = new InMemoryBlobStoreTestDouble();

        await Assert.ThrowsAsync<FileNotFoundException>(() => new FileCopyExecutor().ExecuteAsync(
            new Dictionary<string, InputArtifact>(),
            new Dictionary<string, OutputArtifact> { ["examples"] = new("examples", ArtifactTypes.Examples, "out", "_staging/out", blobs) },
            new ComponentParameters(new Dictionary<string, MetadataValue> { ["source"] = "/nonexistent/file.csv" }),
            new ExecutorContext { PipelineName = "p", RunId = "r", NodeId = "n", ExecutionId = "e", BlobStore = blobs }));
    }
}

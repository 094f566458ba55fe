using Serverless.Metadata;
using Serverless.Pipelines;

namespace Serverless.Pipelines.Tests;

public sealed class ArtifactPublisherTests
{
    private readonly InMemoryBlobStoreTestDouble blobs = new();

    private async Task StageAsync(string prefix, params (string Path, string Text)[] files)
    {
        var output = new OutputArtifact("model", ArtifactTypes.Model, "final", prefix, blobs);
        foreach (var (path, text) in files)
        {
            await output.WriteTextAsync(path, text);
        }
    }

    [Fact]
    public async Task PublishAsync_StagedFiles_CopiesThemWritesMarkerLastAndRemovesStaging()
    {
        await StageAsync("_staging/a", ("model.onnx", "weights"), ("meta/info.txt", "x"));

        var manifest = await new ArtifactPublisher(blobs).PublishAsync("_staging/a", "p/n/model/e1", ArtifactTypes.Model, new Dictionary<string, MetadataValue> { ["opset"] = 17L }, "e1");

        Assert.Equal(["p/n/model/e1/_COMPLETE.json", "p/n/model/e1/meta/info.txt", "p/n/model/e1/model.onnx"], blobs.Names);
        Assert.Equal(["meta/info.txt", "model.onnx"], manifest.Files.Select(f => f.Path));
        Assert.Equal(7, manifest.Files[1].Length);
        Assert.Equal(Fingerprints.OfFiles(manifest.Files, manifest.Properties), manifest.Fingerprint);
        var read = await new ArtifactPublisher(blobs).ReadManifestAsync("p/n/model/e1");
        Assert.Equal(manifest.Fingerprint, read!.Fingerprint);
        Assert.True(await new ArtifactPublisher(blobs).IsIntactAsync("p/n/model/e1", manifest.Fingerprint));
    }

    [Fact]
    public async Task PublishAsync_CrashWhileCopying_LeavesNoMarkerSoReadersSeeNothing()
    {
        await StageAsync("_staging/a", ("a.bin", "1"), ("b.bin", "2"));
        blobs.FailUploadWhen = name => name == "p/n/model/e1/b.bin";

        await Assert.ThrowsAsync<IOException>(() => new ArtifactPublisher(blobs).PublishAsync("_staging/a", "p/n/model/e1", ArtifactTypes.Model, MetadataMaps.Empty, "e1"));

        Assert.Contains("p/n/model/e1/a.bin", blobs.Names);
        Assert.Null(await new ArtifactPublisher(blobs).ReadManifestAsync("p/n/model/e1"));
    }

    [Fact]
    public async Task PublishAsync_OverAnEarlierAttempt_RemovesItsLeftoversAndReplacesTheMarker()
    {
        var publisher = new ArtifactPublisher(blobs);
        await StageAsync("_staging/a", ("old.bin", "old"), ("same.bin", "1"));
        var first = await publisher.PublishAsync("_staging/a", "p/n/model/e1", ArtifactTypes.Model, MetadataMaps.Empty, "e1");
        await StageAsync("_staging/b", ("same.bin", "2"));

        var second = await publisher.PublishAsync("_staging/b", "p/n/model/e1", ArtifactTypes.Model, MetadataMaps.Empty, "e1");

        Assert.Equal(["p/n/model/e1/_COMPLETE.json", "p/n/model/e1/same.bin"], blobs.Names);
        Assert.NotEqual(first.Fingerprint, second.Fingerprint);
        Assert.False(await publisher.IsIntactAsync("p/n/model/e1", first.Fingerprint));
    }

    [Fact]
    public async Task IsIntactAsync_FileRemovedAfterPublish_ReturnsFalse()
    {
        var publisher = new ArtifactPublisher(blobs);
        await StageAsync("_staging/a", ("a.bin", "1"));
        var manifest = await publisher.PublishAsync("_staging/a", "p/n/model/e1", ArtifactTypes.Model, MetadataMaps.Empty, "e1");
        await blobs.DeleteAsync("p/n/model/e1/a.bin");

        Assert.False(await publisher.IsIntactAsync("p/n/model/e1", manifest.Fingerprint));
    }

    [Theory]
    [InlineData("_COMPLETE.json")]
    [InlineData("../escape.txt")]
    [InlineData("a//b")]
    [InlineData("/abs")]
    public async Task WriteTextAsync_ReservedOrEscapingPath_Throws(string path)
    {
        var output = new OutputArtifact("model", ArtifactTypes.Model, "final", "_staging/a", blobs);

        await Assert.ThrowsAsync<ArgumentException>(() => output.WriteTextAsync(path, "x"));
        Assert.Empty(blobs.Names);
    }

    [Fact]
    public void OfFiles_SameContentInAnyOrder_GivesTheSameFingerprint()
    {
        ArtifactFile a = new("a", 1, "aa"), b = new("b", 2, "bb");

        Assert.Equal(Fingerprints.OfFiles([a, b], MetadataMaps.Empty), Fingerprints.OfFiles([b, a], MetadataMaps.Empty));
        Assert.NotEqual(Fingerprints.OfFiles([a, b], MetadataMaps.Empty), Fingerprints.OfFiles([a, b with { Sha256 = "bc" }], MetadataMaps.Empty));
        Assert.NotEqual(
            Fingerprints.OfFiles([a], MetadataMaps.Empty),
            Fingerprints.OfFiles([a], new Dictionary<string, MetadataValue> { ["rows"] = 1L }));
    }

    [Fact]
    public async Task OfLocalPathAsync_FolderWithRenamedFile_ChangesFingerprint()
    {
        using var temp = new TempFolder();
        temp.Write("d/x.csv", "1");
        var before = await Fingerprints.OfLocalPathAsync(Path.Combine(temp.Path, "d"));
        File.Move(Path.Combine(temp.Path, "d", "x.csv"), Path.Combine(temp.Path, "d", "y.csv"));

        var after = await Fingerprints.OfLocalPathAsync(Path.Combine(temp.Path, "d"));

        Assert.StartsWith("sha256:", before, StringComparison.Ordinal);
        Assert.NotEqual(before, after);
    }
}

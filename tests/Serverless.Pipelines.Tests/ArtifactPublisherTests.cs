using Serverless.Metadata;
using Serverless.Pipelines;
using Serverless.Storage;

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

    [Fact]
    public async Task PublishAsync_LocalDirectory_MovesStagedFilesAndWritesMarker()
    {
        using var temp = new TempFolder();
        var local = new LocalDirectoryBlobStore(temp.Path);
        var output = new OutputArtifact("model", ArtifactTypes.Model, "final", "_staging/p/n/model/e1/a1", local);
        await output.WriteTextAsync("model.onnx", "weights");
        await output.WriteTextAsync("meta/info.txt", "x");
        var publisher = new ArtifactPublisher(local);

        var manifest = await publisher.PublishAsync("_staging/p/n/model/e1/a1", "p/n/model/e1", ArtifactTypes.Model, new Dictionary<string, MetadataValue> { ["opset"] = 17L }, "e1");

        Assert.Equal(["p/n/model/e1/_COMPLETE.json", "p/n/model/e1/meta/info.txt", "p/n/model/e1/model.onnx"], await NamesAsync(local, "p/"));
        Assert.Empty(await NamesAsync(local, "_staging/"));
        Assert.Equal(["meta/info.txt", "model.onnx"], manifest.Files.Select(f => f.Path));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("weights"u8)), manifest.Files[1].Sha256);
        Assert.Equal(manifest.Fingerprint, (await publisher.ReadManifestAsync("p/n/model/e1"))!.Fingerprint);
        Assert.True(await publisher.IsIntactAsync("p/n/model/e1", manifest.Fingerprint));
        Assert.Equal("weights", await ReadAsync(local, "p/n/model/e1/model.onnx"));
    }

    [Fact]
    public async Task PublishAsync_LocalDirectoryOverEarlierAttempt_RemovesLeftoversAndChangesFingerprint()
    {
        using var temp = new TempFolder();
        var local = new LocalDirectoryBlobStore(temp.Path);
        var publisher = new ArtifactPublisher(local);
        var first = new OutputArtifact("model", ArtifactTypes.Model, "final", "_staging/a", local);
        await first.WriteTextAsync("old.bin", "old");
        await first.WriteTextAsync("same.bin", "1");
        var before = await publisher.PublishAsync("_staging/a", "p/n/model/e1", ArtifactTypes.Model, MetadataMaps.Empty, "e1");
        var second = new OutputArtifact("model", ArtifactTypes.Model, "final", "_staging/b", local);
        await second.WriteTextAsync("same.bin", "2");

        var after = await publisher.PublishAsync("_staging/b", "p/n/model/e1", ArtifactTypes.Model, MetadataMaps.Empty, "e1");

        Assert.Equal(["p/n/model/e1/_COMPLETE.json", "p/n/model/e1/same.bin"], await NamesAsync(local, "p/"));
        Assert.NotEqual(before.Fingerprint, after.Fingerprint);
        Assert.False(await publisher.IsIntactAsync("p/n/model/e1", before.Fingerprint));
        Assert.True(await publisher.IsIntactAsync("p/n/model/e1", after.Fingerprint));
    }

    [Fact]
    public async Task IsIntactAsync_LocalDirectoryFileTruncated_ReturnsFalse()
    {
        using var temp = new TempFolder();
        var local = new LocalDirectoryBlobStore(temp.Path);
        var publisher = new ArtifactPublisher(local);
        var output = new OutputArtifact("model", ArtifactTypes.Model, "final", "_staging/a", local);
        await output.WriteTextAsync("a.bin", "12345");
        var manifest = await publisher.PublishAsync("_staging/a", "p/n/model/e1", ArtifactTypes.Model, MetadataMaps.Empty, "e1");

        await File.WriteAllTextAsync(Path.Combine(temp.Path, "p", "n", "model", "e1", "a.bin"), "12");

        Assert.False(await publisher.IsIntactAsync("p/n/model/e1", manifest.Fingerprint));
    }

    private static async Task<List<string>> NamesAsync(IBlobStore store, string prefix)
    {
        var names = new List<string>();
        await foreach (var blob in store.ListAsync(prefix))
        {
            names.Add(blob.Name);
        }

        return names;
    }

    private static async Task<string> ReadAsync(IBlobStore store, string name)
    {
        using var reader = new StreamReader(await store.OpenReadAsync(name));
        return await reader.ReadToEndAsync();
    }
}

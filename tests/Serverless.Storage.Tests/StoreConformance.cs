using Azure.Storage.Blobs;
using Serverless.Testing.Azurite;
using Xunit.Abstractions;

namespace Serverless.Storage.Tests;

public sealed class LocalDirectoryBlobStoreConformanceTests(ITestOutputHelper output) : BlobStoreConformanceTests(output), IDisposable
{
    private readonly List<string> _roots = [];

    protected override IBlobStore CreateStore()
    {
        var root = Path.Combine(Path.GetTempPath(), "blobstore-" + Guid.NewGuid().ToString("N"));
        _roots.Add(root);
        return new LocalDirectoryBlobStore(root);
    }

    public void Dispose()
    {
        foreach (var root in _roots)
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }
}

[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobStoreConformanceTests(AzuriteFixture azurite, ITestOutputHelper output) : BlobStoreConformanceTests(output)
{
    // Page size 2: listings span several pages. Single-shot limit 1 MiB: the atomic-publish test (3 MiB) goes through
    // Put Block + Put Block List; blocks stay at the store's default 8 MiB.
    protected override IBlobStore CreateStore() => new AzureBlobStore(
        new BlobContainerClient(azurite.ConnectionString, TestData.Name("store")),
        new AzureBlobStoreOptions
        {
            ListPageSize = 2,
            TransferOptions = new Azure.Storage.StorageTransferOptions { InitialTransferSize = 1024 * 1024 },
        });
}

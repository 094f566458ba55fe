using Azure;
using Serverless.Storage.Blobs;
using Serverless.Storage.Blobs.Models;
using Serverless.Storage.Blobs.Specialized;
using Serverless.Storage.Sas;
using Serverless.Testing.Azurite;

namespace Serverless.Storage.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class BlobClientTests(AzuriteFixture azurite)
{
    private async Task<BlobContainerClient> NewContainerAsync()
    {
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(TestData.Name("c"));
        Assert.NotNull(await container.CreateIfNotExistsAsync());
        return container;
    }

    [Fact]
    public async Task UploadAsync_SharedKeySmallBlob_RoundTripsContentAndMetadata()
    {
        var container = await NewContainerAsync();
        var blob = container.GetBlobClient("dir/a b/ünï 文件.bin");
        var data = TestData.Bytes(1000);
        var info = await blob.UploadAsync(new MemoryStream(data), new Blobs.Models.BlobUploadOptions
        {
            Metadata = new Dictionary<string, string> { ["stage"] = "trainer" },
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/x-test" },
        });

        var props = (await blob.GetPropertiesAsync()).Value;
        var download = (await blob.DownloadContentAsync()).Value;

        Assert.Equal(data, download.Content.ToArray());
        Assert.Equal(info.Value.ETag, props.ETag);
        Assert.Equal(1000, props.ContentLength);
        Assert.Equal("application/x-test", props.ContentType);
        Assert.Equal("trainer", props.Metadata["stage"]);
        Assert.Equal("trainer", download.Details.Metadata["stage"]);
    }

    [Fact]
    public async Task UploadAsync_LargerThanInitialTransfer_UploadsBlocksAndCommitsInOrder()
    {
        var container = await NewContainerAsync();
        var blob = container.GetBlobClient("blocks.bin");
        var data = TestData.Bytes(3 * 1024 * 1024 + 17);
        await blob.UploadAsync(new MemoryStream(data), new Blobs.Models.BlobUploadOptions
        {
            TransferOptions = new StorageTransferOptions { InitialTransferSize = 1024 * 1024, MaximumTransferSize = 512 * 1024, MaximumConcurrency = 3 },
        });

        using var download = (await blob.DownloadStreamingAsync()).Value;
        var copy = new MemoryStream();
        await download.Content.CopyToAsync(copy);

        Assert.Equal(data.Length, download.Details.ContentLength);
        Assert.Equal(data, copy.ToArray());
    }

    [Fact]
    public async Task DownloadStreamingAsync_Range_ReturnsOnlyThatRange()
    {
        var container = await NewContainerAsync();
        var blob = container.GetBlobClient("range.bin");
        var data = TestData.Bytes(10_000);
        await blob.UploadAsync(BinaryData.FromBytes(data));

        var part = (await blob.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(100, 50) })).Value;

        Assert.Equal(data.AsSpan(100, 50).ToArray(), part.Content.ToArray());
    }

    [Fact]
    public async Task UploadAsync_ConditionalRequests_EnforceETags()
    {
        var container = await NewContainerAsync();
        var blob = container.GetBlobClient("cond.txt");
        var first = await blob.UploadAsync(BinaryData.FromString("v1"));

        var exists = await Assert.ThrowsAsync<RequestFailedException>(() => blob.UploadAsync(BinaryData.FromString("v2")));
        var stale = await Assert.ThrowsAsync<RequestFailedException>(() => blob.UploadAsync(BinaryData.FromString("v2"),
            new Blobs.Models.BlobUploadOptions { Conditions = new BlobRequestConditions { IfMatch = new ETag("\"0x1\"") } }));
        var second = await blob.UploadAsync(BinaryData.FromString("v2"),
            new Blobs.Models.BlobUploadOptions { Conditions = new BlobRequestConditions { IfMatch = first.Value.ETag } });

        Assert.Equal(409, exists.Status);
        Assert.Equal("BlobAlreadyExists", exists.ErrorCode);
        Assert.Equal(412, stale.Status);
        Assert.NotEqual(first.Value.ETag, second.Value.ETag);
        Assert.Equal("v2", (await blob.DownloadContentAsync()).Value.Content.ToString());
    }

    [Fact]
    public async Task SetMetadataAsync_WithIfMatch_ChangesMetadataAndETag()
    {
        var container = await NewContainerAsync();
        var blob = container.GetBlobClient("meta.txt");
        var uploaded = await blob.UploadAsync(BinaryData.FromString("x"));

        var set = await blob.SetMetadataAsync(new Dictionary<string, string> { ["a"] = "1", ["b_2"] = "two" },
            new BlobRequestConditions { IfMatch = uploaded.Value.ETag });
        var props = (await blob.GetPropertiesAsync()).Value;

        Assert.NotEqual(uploaded.Value.ETag, set.Value.ETag);
        Assert.Equal("1", props.Metadata["a"]);
        Assert.Equal("two", props.Metadata["b_2"]);
    }

    [Fact]
    public async Task GetBlobsAsync_SmallPageSize_FollowsMarkersAcrossPages()
    {
        var container = await NewContainerAsync();
        for (var i = 0; i < 7; i++) await container.GetBlobClient($"p/{i:D2}").UploadAsync(BinaryData.FromString(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await container.GetBlobClient("q/other").UploadAsync(BinaryData.FromString("x"));

        var pages = new List<Page<BlobItem>>();
        await foreach (var page in container.GetBlobsAsync(prefix: "p/").AsPages(pageSizeHint: 3)) pages.Add(page);

        Assert.Equal(3, pages.Count);
        Assert.NotNull(pages[0].ContinuationToken);
        Assert.Null(pages[2].ContinuationToken);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"p/{i:D2}"), pages.SelectMany(p => p.Values).Select(b => b.Name));
        var props = (await container.GetBlobClient("p/00").GetPropertiesAsync()).Value;
        Assert.Equal(props.ETag, pages[0].Values[0].Properties.ETag);
    }

    [Fact]
    public async Task GetBlobsAsync_MetadataTrait_ReturnsMetadata()
    {
        var container = await NewContainerAsync();
        await container.GetBlobClient("m").UploadAsync(BinaryData.FromString("x"), new Blobs.Models.BlobUploadOptions { Metadata = new Dictionary<string, string> { ["k"] = "v" } });

        var items = new List<BlobItem>();
        await foreach (var item in container.GetBlobsAsync(BlobTraits.Metadata)) items.Add(item);

        Assert.Equal("v", Assert.Single(items).Metadata["k"]);
    }

    [Fact]
    public async Task DeleteIfExistsAsync_ExistingThenMissing_ReturnsTrueThenFalse()
    {
        var container = await NewContainerAsync();
        var blob = container.GetBlobClient("d");
        await blob.UploadAsync(BinaryData.FromString("x"));

        Assert.True((await blob.DeleteIfExistsAsync()).Value);
        Assert.False((await blob.DeleteIfExistsAsync()).Value);
        Assert.False((await blob.ExistsAsync()).Value);
        var e = await Assert.ThrowsAsync<RequestFailedException>(() => blob.GetPropertiesAsync());
        Assert.Equal(404, e.Status);
    }

    [Fact]
    public async Task UploadAsync_MissingContainer_ThrowsClearContainerNotFound()
    {
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(TestData.Name("missing"));

        var e = await Assert.ThrowsAsync<RequestFailedException>(() => container.GetBlobClient("x").UploadAsync(BinaryData.FromString("x")));

        Assert.Equal(404, e.Status);
        Assert.Equal("ContainerNotFound", e.ErrorCode);
        Assert.Contains($"Container '{container.Name}' does not exist in storage account 'devstoreaccount1'", e.Message, StringComparison.Ordinal);
        Assert.Contains("CreateIfNotExistsAsync", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateIfNotExistsAsync_Existing_ReturnsNull()
    {
        var container = await NewContainerAsync();

        Assert.Null(await container.CreateIfNotExistsAsync());
        Assert.True((await container.ExistsAsync()).Value);
        Assert.True((await container.DeleteIfExistsAsync()).Value);
        Assert.False((await container.ExistsAsync()).Value);
    }

    [Fact]
    public async Task AnyOperation_WrongAccountKey_ThrowsAuthenticationFailedWithAccountEndpointAndRequestId()
    {
        var wrongKey = Convert.ToBase64String(TestData.Bytes(64));
        var client = new BlobServiceClient(azurite.Azurite.BlobEndpoint, new StorageSharedKeyCredential(AzuriteProcess.AccountName, wrongKey));

        var e = await Assert.ThrowsAsync<StorageAuthenticationFailedException>(() => client.GetBlobContainerClient("anything").CreateIfNotExistsAsync());

        Assert.Equal(403, e.Status);
        Assert.Contains("Authentication failed for storage account 'devstoreaccount1'", e.Message, StringComparison.Ordinal);
        Assert.Contains(azurite.Azurite.BlobEndpoint.AbsoluteUri, e.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(e.RequestId));
        Assert.Contains($"x-ms-request-id: {e.RequestId}", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongKey, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AccountSas_ReadWrite_AllowsUploadAndDownloadWithoutKey()
    {
        var service = new BlobServiceClient(azurite.ConnectionString);
        var container = await NewContainerAsync();
        var sasUri = service.GenerateAccountSasUri(AccountSasPermissions.Read | AccountSasPermissions.Write | AccountSasPermissions.Create,
            DateTimeOffset.UtcNow.AddHours(1), AccountSasResourceTypes.Object);

        var sasBlob = new BlobServiceClient(sasUri).GetBlobContainerClient(container.Name).GetBlobClient("via sas/ä.txt");
        await sasBlob.UploadAsync(BinaryData.FromString("hello"));

        Assert.Equal("hello", (await sasBlob.DownloadContentAsync()).Value.Content.ToString());
        Assert.DoesNotContain("sig=", sasBlob.Uri.Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BlobSas_ReadOnly_AllowsReadAndRejectsWriteWith403()
    {
        var container = await NewContainerAsync();
        var blob = container.GetBlobClient("ro/file 1.txt");
        await blob.UploadAsync(BinaryData.FromString("content"));
        var sasUri = blob.GenerateSasUri(BlobSasPermissions.Read, DateTimeOffset.UtcNow.AddMinutes(10));

        var readOnly = new BlobClient(sasUri);
        var read = (await readOnly.DownloadContentAsync()).Value.Content.ToString();
        var e = await Assert.ThrowsAsync<StorageAuthenticationFailedException>(() => readOnly.UploadAsync(BinaryData.FromString("x"), overwrite: true));

        Assert.Equal("content", read);
        Assert.Equal("ro/file 1.txt", readOnly.Name);
        Assert.Equal(container.Name, readOnly.BlobContainerName);
        Assert.DoesNotContain("sig=", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ContainerSas_List_ListsBlobs()
    {
        var container = await NewContainerAsync();
        await container.GetBlobClient("a").UploadAsync(BinaryData.FromString("x"));
        var sas = container.GenerateSasUri(BlobContainerSasPermissions.List | BlobContainerSasPermissions.Read, DateTimeOffset.UtcNow.AddMinutes(10));

        var names = new List<string>();
        await foreach (var b in new BlobContainerClient(sas).GetBlobsAsync()) names.Add(b.Name);

        Assert.Equal(["a"], names);
    }

    [Fact]
    public async Task BlobLeaseClient_Lifecycle_AcquireRenewChangeReleaseBreak()
    {
        var container = await NewContainerAsync();
        var blob = container.GetBlobClient("leased");
        await blob.UploadAsync(BinaryData.FromString("v1"));
        var lease = blob.GetBlobLeaseClient();
        var other = blob.GetBlobLeaseClient();

        var acquired = await lease.AcquireAsync(TimeSpan.FromSeconds(15));
        var conflict = await Assert.ThrowsAsync<RequestFailedException>(() => other.AcquireAsync(TimeSpan.FromSeconds(15)));
        var noLeaseId = await Assert.ThrowsAsync<RequestFailedException>(() => blob.UploadAsync(BinaryData.FromString("v2"), overwrite: true));
        await blob.UploadAsync(BinaryData.FromString("v2"), new Blobs.Models.BlobUploadOptions { Conditions = new BlobRequestConditions { LeaseId = lease.LeaseId } });
        await lease.RenewAsync();
        var newId = Guid.NewGuid().ToString();
        await lease.ChangeAsync(newId);
        var leasedProps = (await blob.GetPropertiesAsync()).Value;
        await lease.ReleaseAsync();
        await other.AcquireAsync(BlobLeaseClient.InfiniteLeaseDuration);
        var broken = await other.BreakAsync(TimeSpan.Zero);
        var afterBreak = (await blob.GetPropertiesAsync()).Value;

        Assert.Equal(lease.LeaseId, newId);
        Assert.NotNull(acquired.Value.LeaseId);
        Assert.Equal(409, conflict.Status);
        Assert.Equal(412, noLeaseId.Status);
        Assert.Equal(LeaseState.Leased, leasedProps.LeaseState);
        Assert.Equal(LeaseStatus.Locked, leasedProps.LeaseStatus);
        Assert.Equal(0, broken.Value.LeaseTime);
        Assert.Equal(LeaseStatus.Unlocked, afterBreak.LeaseStatus);
        Assert.Equal("v2", (await blob.DownloadContentAsync()).Value.Content.ToString());
    }

    [Fact]
    public async Task BlobLeaseClient_Container_AcquireAndRelease()
    {
        var container = await NewContainerAsync();
        var lease = container.GetBlobLeaseClient();

        await lease.AcquireAsync(TimeSpan.FromSeconds(20));
        var leased = (await container.GetPropertiesAsync()).Value.LeaseState;
        await lease.ReleaseAsync();
        var released = (await container.GetPropertiesAsync()).Value.LeaseState;

        Assert.Equal(LeaseState.Leased, leased);
        Assert.Equal(LeaseState.Available, released);
    }
}

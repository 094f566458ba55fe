using System.Text;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using Serverless.Testing.Azurite;

namespace Serverless.Storage.Tests;

/// <summary>
/// What only the Azure store has: chunking, the credentials a deployment uses (account key, SAS in a connection string or
/// URI, Entra ID in <see cref="EntraIdAuthTests"/>) and the errors an operator sees. The contract itself is in
/// <see cref="BlobStoreConformanceTests"/>.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobStoreTests(AzuriteFixture azurite)
{
    private BlobServiceClient Service => new(azurite.ConnectionString);

    private async Task<BlobContainerClient> NewContainerAsync()
    {
        var container = Service.GetBlobContainerClient(TestData.Name("c"));
        await container.CreateAsync();
        return container;
    }

    private static async Task<string> ReadTextAsync(IBlobStore store, string name)
    {
        await using var stream = await store.OpenReadAsync(name);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    private static Task<BlobItemProperties> PutAsync(IBlobStore store, string name, string text) =>
        store.UploadAsync(name, new MemoryStream(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public async Task UploadAsync_LargerThanInitialTransfer_CommitsBlocksOfTheConfiguredSizeInOrder()
    {
        var container = await NewContainerAsync();
        var store = new AzureBlobStore(container, new AzureBlobStoreOptions
        {
            TransferOptions = new StorageTransferOptions { InitialTransferSize = 1024 * 1024, MaximumTransferSize = 512 * 1024, MaximumConcurrency = 3 },
        });
        var data = TestData.Bytes(3 * 1024 * 1024 + 17);

        var written = await store.UploadAsync("blocks.bin", new NonSeekableStream(data));
        var blocks = (await container.GetBlockBlobClient("blocks.bin").GetBlockListAsync(BlockListTypes.Committed)).Value.CommittedBlocks.ToList();
        await using var download = await store.OpenReadAsync("blocks.bin");
        var copy = new MemoryStream();
        await download.CopyToAsync(copy);

        Assert.Equal(data.Length, written.Length);
        Assert.Equal(data, copy.ToArray());
        Assert.Equal(7, blocks.Count);
        Assert.All(blocks.Take(6), b => Assert.Equal(512 * 1024, b.SizeLong));
        Assert.Equal(17, blocks[6].SizeLong);
    }

    [Fact]
    public void TransferOptions_PartlySet_UnsetFieldsTakeTheStoreDefaultsNotTheSdks()
    {
        var store = new AzureBlobStore(Service.GetBlobContainerClient("any"), new AzureBlobStoreOptions
        {
            TransferOptions = new StorageTransferOptions { MaximumConcurrency = 2 },
        });

        Assert.Equal(2, store.TransferOptions.MaximumConcurrency);
        Assert.Equal(AzureBlobStoreOptions.DefaultTransferOptions.InitialTransferSize, store.TransferOptions.InitialTransferSize);
        Assert.Equal(AzureBlobStoreOptions.DefaultTransferOptions.MaximumTransferSize, store.TransferOptions.MaximumTransferSize);
        Assert.Equal(8L * 1024 * 1024, store.TransferOptions.InitialTransferSize);
    }

    [Fact]
    public async Task AnyOperation_WrongAccountKey_ThrowsAccessDeniedNamingAccountEndpointAndRequestId()
    {
        var wrongKey = Convert.ToBase64String(TestData.Bytes(64));
        var container = TestData.Name("denied");
        var store = new AzureBlobStore(
            $"DefaultEndpointsProtocol=http;AccountName={AzuriteProcess.AccountName};AccountKey={wrongKey};BlobEndpoint={azurite.Azurite.BlobEndpoint};",
            container);

        var upload = await Assert.ThrowsAsync<StorageAccessDeniedException>(() => PutAsync(store, "a/b.txt", "x"));
        var read = await Assert.ThrowsAsync<StorageAccessDeniedException>(() => store.GetPropertiesAsync("a/b.txt"));
        var list = await Assert.ThrowsAsync<StorageAccessDeniedException>(async () => { await foreach (var _ in store.ListAsync("")) { } });

        Assert.Equal(403, upload.Status);
        Assert.Equal(AzuriteProcess.AccountName, upload.AccountName);
        Assert.Contains($"storage account '{AzuriteProcess.AccountName}'", upload.Message, StringComparison.Ordinal);
        Assert.Contains($"{azurite.Azurite.BlobEndpoint.AbsoluteUri}/{container}", upload.Message, StringComparison.Ordinal);
        Assert.Contains("blob 'a/b.txt'", upload.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(upload.RequestId));
        Assert.Contains($"x-ms-request-id: {upload.RequestId}", upload.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongKey, upload.Message, StringComparison.Ordinal);
        Assert.IsType<RequestFailedException>(upload.InnerException);
        Assert.Equal(403, read.Status);
        Assert.Equal(AzuriteProcess.AccountName, list.AccountName);
    }

    [Fact]
    public async Task ConnectionString_AccountSas_UploadsCreatesContainerAndReadsWithoutKey()
    {
        var sas = Service.GenerateAccountSasUri(AccountSasPermissions.Read | AccountSasPermissions.Write | AccountSasPermissions.Create | AccountSasPermissions.List,
            DateTimeOffset.UtcNow.AddHours(1), AccountSasResourceTypes.Container | AccountSasResourceTypes.Object);
        var connection = $"BlobEndpoint={azurite.Azurite.BlobEndpoint};SharedAccessSignature={sas.Query.TrimStart('?')}";
        var store = new AzureBlobStore(connection, TestData.Name("sas"));

        await PutAsync(store, "via sas/ä.txt", "hello");

        Assert.Equal("hello", await ReadTextAsync(store, "via sas/ä.txt"));
        Assert.Equal(["via sas/ä.txt"], await NamesAsync(store, ""));
        Assert.DoesNotContain("sig=", store.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ContainerSasUri_ReadList_ReadsAndListsButWriteIsDeniedWithoutLeakingTheSignature()
    {
        var container = await NewContainerAsync();
        await new AzureBlobStore(container).UploadAsync("ro/file 1.txt", new MemoryStream("content"u8.ToArray()));
        var sas = container.GenerateSasUri(BlobContainerSasPermissions.Read | BlobContainerSasPermissions.List, DateTimeOffset.UtcNow.AddMinutes(10));
        var readOnly = new AzureBlobStore(sas);

        var text = await ReadTextAsync(readOnly, "ro/file 1.txt");
        var names = await NamesAsync(readOnly, "ro/");
        var e = await Assert.ThrowsAsync<StorageAccessDeniedException>(() => PutAsync(readOnly, "ro/new.txt", "x"));

        Assert.Equal("content", text);
        Assert.Equal(["ro/file 1.txt"], names);
        Assert.Contains(container.Uri.AbsoluteUri, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=", e.Endpoint.AbsoluteUri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ContainerSasUri_WriteCreate_UploadsToAnExistingContainerItMayNotCreate()
    {
        var container = await NewContainerAsync();
        var sas = container.GenerateSasUri(BlobContainerSasPermissions.Read | BlobContainerSasPermissions.Write | BlobContainerSasPermissions.Create,
            DateTimeOffset.UtcNow.AddMinutes(10));
        var store = new AzureBlobStore(sas);

        await PutAsync(store, "w/x.txt", "written");
        await PutAsync(store, "w/x.txt", "again");

        Assert.Equal("again", await ReadTextAsync(store, "w/x.txt"));
    }

    [Fact]
    public void UseDevelopmentStorage_Constructed_TargetsAzuritesDefaultEndpoint()
    {
        var store = new AzureBlobStore("UseDevelopmentStorage=true", "artifacts");

        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1/artifacts"), store.Container.Uri);
        Assert.Equal(AzuriteProcess.AccountName, store.Container.AccountName);
        Assert.Contains("http://127.0.0.1:10000/devstoreaccount1/artifacts", store.Description, StringComparison.Ordinal);
        Assert.True(store.Container.CanGenerateSasUri); // it carries the well-known emulator key
    }

    [Fact]
    public async Task FromConnectionSetting_ConnectionString_UsesIt()
    {
        var settings = new Dictionary<string, string> { ["Store"] = azurite.ConnectionString };
        var store = AzureBlobStore.FromConnectionSetting("Store", settings.GetValueOrDefault, TestData.Name("setting"));

        await PutAsync(store, "s.txt", "from setting");

        Assert.Equal("from setting", await ReadTextAsync(store, "s.txt"));
        Assert.StartsWith(azurite.Azurite.BlobEndpoint.AbsoluteUri, store.Container.Uri.AbsoluteUri, StringComparison.Ordinal);
    }

    [Fact]
    public void FromConnectionSetting_AccountNameOnly_IsIdentityBasedOnTheAccountsHttpsEndpoint()
    {
        var settings = new Dictionary<string, string> { ["AzureWebJobsStorage__accountName"] = "myacct" };

        var store = AzureBlobStore.FromConnectionSetting("AzureWebJobsStorage", settings.GetValueOrDefault, "artifacts");

        Assert.Equal(new Uri("https://myacct.blob.core.windows.net/artifacts"), store.Container.Uri);
        Assert.Equal("myacct", store.Container.AccountName);
        Assert.False(store.Container.CanGenerateSasUri); // no key: a token credential
    }

    [Theory]
    [InlineData(null, "No storage connection 'AzureWebJobsStorage'")]
    [InlineData("ftp://x", "'AzureWebJobsStorage__blobServiceUri' does not give an absolute http(s) blob endpoint")]
    public void FromConnectionSetting_MissingOrBad_ThrowsNamingTheSettings(string? serviceUri, string expected)
    {
        var settings = new Dictionary<string, string>();
        if (serviceUri != null) settings["AzureWebJobsStorage__blobServiceUri"] = serviceUri;

        var e = Assert.Throws<InvalidOperationException>(() => AzureBlobStore.FromConnectionSetting("AzureWebJobsStorage", settings.GetValueOrDefault, "artifacts"));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        if (serviceUri == null) Assert.Contains("AzureWebJobsStorage__blobServiceUri", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a connection string")]
    [InlineData("AccountName=acct;AccountKey=SECRET-not-base64!")]
    [InlineData("  ")]
    public void Constructor_MalformedConnectionString_ThrowsNamingContainerAndFormsWithoutEchoingTheKey(string connectionString)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => new AzureBlobStore(connectionString, "artifacts"));

        Assert.Equal("connectionString", e.ParamName);
        Assert.DoesNotContain("SECRET", e.Message, StringComparison.Ordinal);
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            Assert.Contains("container 'artifacts'", e.Message, StringComparison.Ordinal);
            Assert.Contains("UseDevelopmentStorage=true", e.Message, StringComparison.Ordinal);
        }
    }

    private static async Task<List<string>> NamesAsync(IBlobStore store, string prefix)
    {
        var names = new List<string>();
        await foreach (var item in store.ListAsync(prefix)) names.Add(item.Name);
        return names;
    }

    /// <summary>A stream that cannot seek or tell its length, like a network or pipe source.</summary>
    private sealed class NonSeekableStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _inner.Dispose();
            base.Dispose(disposing);
        }
    }
}

using Azure.Core;
using Azure.Storage.Blobs;
using Serverless.Testing.Azurite;

namespace Serverless.Storage.Tests;

/// <summary>
/// Entra ID (<see cref="TokenCredential"/>) auth of <see cref="AzureBlobStore"/> through the SDK's bearer token policy.
/// Azure.Identity's credentials need Entra ID itself, unreachable here, so the credential (<see cref="EntraLikeCredential"/>) mints a token with the claims
/// Entra ID would put in it.
/// </summary>
public sealed class EntraIdAuthTests(HttpsAzuriteFixture azurite) : IClassFixture<HttpsAzuriteFixture>
{
    private AzureBlobStoreOptions Trusting() =>
        new() { ClientOptions = new BlobClientOptions { Transport = azurite.TrustingTransport() } };

    private Uri ContainerUri(string name) => new($"{azurite.Azurite.BlobEndpoint}/{name}");

    [Fact]
    public async Task AzureBlobStore_ValidToken_RoundTripsWithStorageScope()
    {
        var credential = new EntraLikeCredential(DateTimeOffset.UtcNow.AddHours(1));
        var store = new AzureBlobStore(ContainerUri(TestData.Name("oauth")), credential, Trusting());

        await store.UploadAsync("a/b.txt", new MemoryStream("token"u8.ToArray()));
        await using var read = await store.OpenReadAsync("a/b.txt");
        var text = await new StreamReader(read).ReadToEndAsync();

        Assert.Equal("token", text);
        Assert.Equal("a/b.txt", (await store.GetPropertiesAsync("a/b.txt"))!.Name);
        Assert.Contains("https://storage.azure.com/.default", credential.RequestedScopes);
    }

    [Fact]
    public async Task FromConnectionSetting_BlobServiceUri_UsesTheTokenCredential()
    {
        var credential = new EntraLikeCredential(DateTimeOffset.UtcNow.AddHours(1));
        var settings = new Dictionary<string, string> { ["Store__blobServiceUri"] = azurite.Azurite.BlobEndpoint.AbsoluteUri };
        var store = AzureBlobStore.FromConnectionSetting("Store", settings.GetValueOrDefault, TestData.Name("keyless"), Trusting(), credential);

        await store.UploadAsync("k.txt", new MemoryStream("keyless"u8.ToArray()));

        Assert.Equal(7, (await store.GetPropertiesAsync("k.txt"))!.Length);
        Assert.Contains("https://storage.azure.com/.default", credential.RequestedScopes);
    }

    [Fact]
    public async Task AzureBlobStore_ExpiredToken_ThrowsAccessDeniedNamingAccountAndEndpoint()
    {
        var credential = new EntraLikeCredential(DateTimeOffset.UtcNow.AddHours(-1));
        var container = TestData.Name("expired");
        var store = new AzureBlobStore(ContainerUri(container), credential, Trusting());

        var e = await Assert.ThrowsAsync<StorageAccessDeniedException>(() => store.UploadAsync("x", new MemoryStream([1])));

        Assert.Equal(403, e.Status);
        Assert.Equal(AzuriteProcess.AccountName, e.AccountName);
        Assert.Equal(ContainerUri(container), e.Endpoint);
        Assert.Contains($"storage account '{AzuriteProcess.AccountName}' at endpoint {ContainerUri(container).AbsoluteUri}", e.Message, StringComparison.Ordinal);
    }
}

using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Serverless.Testing.Azurite;

namespace Serverless.Storage.Tests;

/// <summary>Azurite over https with <c>--oauth basic</c>: it checks a bearer token's issuer, audience and lifetime.</summary>
public sealed class HttpsAzuriteFixture : AzuriteFixture
{
    protected override bool Https => true;
}

/// <summary>
/// Entra ID (<see cref="TokenCredential"/>) auth of <see cref="AzureBlobStore"/> through the SDK's bearer token policy.
/// Azure.Identity's credentials need Entra ID itself, unreachable here, so the credential mints a token with the claims
/// Entra ID would put in it.
/// </summary>
public sealed class EntraIdAuthTests(HttpsAzuriteFixture azurite) : IClassFixture<HttpsAzuriteFixture>
{
    private AzureBlobStoreOptions Trusting()
    {
        var thumbprint = azurite.Azurite.Certificate!.Thumbprint;
        var options = new BlobClientOptions();
#pragma warning disable CA2000 // the handler lives as long as the client
        options.Transport = new HttpClientTransport(new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == thumbprint,
        });
#pragma warning restore CA2000
        return new AzureBlobStoreOptions { ClientOptions = options };
    }

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

    private sealed class EntraLikeCredential(DateTimeOffset expires) : TokenCredential
    {
        public List<string> RequestedScopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            lock (RequestedScopes) RequestedScopes.AddRange(requestContext.Scopes);
            static string B64(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            var header = B64("""{"typ":"JWT","alg":"RS256"}""");
            var payload = B64(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["aud"] = "https://storage.azure.com",
                ["iss"] = "https://sts.windows.net/ab1f708d-50f6-404c-a006-d71b2ac7a606/",
                ["iat"] = expires.AddHours(-2).ToUnixTimeSeconds(),
                ["nbf"] = expires.AddHours(-2).ToUnixTimeSeconds(),
                ["exp"] = expires.ToUnixTimeSeconds(),
                ["oid"] = Guid.NewGuid(),
                ["tid"] = "ab1f708d-50f6-404c-a006-d71b2ac7a606",
            }));
            // Cache lifetime for Azure.Core is always in the future, so the expired-token test really sends its token.
            return new AccessToken($"{header}.{payload}.c2lnbmF0dXJl", DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new(GetToken(requestContext, cancellationToken));
    }
}

using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Serverless.Storage.Blobs;
using Serverless.Storage.Queues;
using Serverless.Testing.Azurite;

namespace Serverless.Storage.Tests;

/// <summary>Azurite over https with <c>--oauth basic</c>: it checks a bearer token's issuer, audience and lifetime.</summary>
public sealed class HttpsAzuriteFixture : AzuriteFixture
{
    protected override bool Https => true;
}

/// <summary>
/// Entra ID (TokenCredential) auth through Azure.Core's bearer token policy. Azure.Identity's credentials need
/// Entra ID itself, unreachable here, so the credential mints a token with the claims Entra ID would put in it.
/// </summary>
public sealed class EntraIdAuthTests(HttpsAzuriteFixture azurite) : IClassFixture<HttpsAzuriteFixture>
{
    private T Trusting<T>(T options)
        where T : ClientOptions
    {
        var thumbprint = azurite.Azurite.Certificate!.Thumbprint;
#pragma warning disable CA2000 // the handler lives as long as the client
        options.Transport = new HttpClientTransport(new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == thumbprint,
        });
#pragma warning restore CA2000
        return options;
    }

    [Fact]
    public async Task BlobClient_ValidToken_AuthenticatesWithStorageScope()
    {
        var credential = new EntraLikeCredential(DateTimeOffset.UtcNow.AddHours(1));
        var service = new BlobServiceClient(azurite.Azurite.BlobEndpoint, credential, Trusting(new BlobClientOptions()));
        var container = service.GetBlobContainerClient(TestData.Name("oauth"));

        await container.CreateIfNotExistsAsync();
        await container.GetBlobClient("a/b.txt").UploadAsync(BinaryData.FromString("token"));
        var text = (await container.GetBlobClient("a/b.txt").DownloadContentAsync()).Value.Content.ToString();

        Assert.Equal("token", text);
        Assert.Contains("https://storage.azure.com/.default", credential.RequestedScopes);
    }

    [Fact]
    public async Task BlobClient_ExpiredToken_ThrowsAuthenticationFailed()
    {
        var credential = new EntraLikeCredential(DateTimeOffset.UtcNow.AddHours(-1));
        var service = new BlobServiceClient(azurite.Azurite.BlobEndpoint, credential, Trusting(new BlobClientOptions()));

        var e = await Assert.ThrowsAsync<StorageAuthenticationFailedException>(() => service.GetBlobContainerClient("expired").CreateIfNotExistsAsync());

        Assert.Equal("devstoreaccount1", e.AccountName);
        Assert.Contains("Authentication failed for storage account 'devstoreaccount1'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueueClient_ValidToken_SendsAndReceives()
    {
        var credential = new EntraLikeCredential(DateTimeOffset.UtcNow.AddHours(1));
        var queue = new QueueServiceClient(azurite.Azurite.QueueEndpoint, credential, Trusting(new QueueClientOptions())).GetQueueClient(TestData.Name("oq"));

        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync("hello");

        Assert.Equal("hello", (await queue.ReceiveMessageAsync()).Value!.MessageText);
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

using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Serverless.Testing.Azurite;

/// <summary>Azurite over https with <c>--oauth basic</c>: it checks a bearer token's issuer, audience and lifetime.</summary>
public sealed class HttpsAzuriteFixture : AzuriteFixture
{
    /// <inheritdoc/>
    protected override bool Https => true;

    /// <summary>A client transport that trusts this Azurite's self-signed certificate (and nothing else).</summary>
    public HttpPipelineTransport TrustingTransport()
    {
        var thumbprint = Azurite.Certificate!.Thumbprint;
#pragma warning disable CA2000 // the handler lives as long as the client
        return new HttpClientTransport(new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == thumbprint,
        });
#pragma warning restore CA2000
    }
}

/// <summary>
/// A <see cref="TokenCredential"/> that mints the token Entra ID would issue for storage (audience, issuer, lifetime
/// ending at <paramref name="expires"/>): Azure.Identity's credentials need Entra ID itself, unreachable here, and https
/// Azurite with <c>--oauth basic</c> checks exactly these claims.
/// </summary>
/// <param name="expires">When the token expires (in the past: an expired token).</param>
public sealed class EntraLikeCredential(DateTimeOffset expires) : TokenCredential
{
    /// <summary>Every scope a client asked a token for.</summary>
    public List<string> RequestedScopes { get; } = [];

    /// <inheritdoc/>
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

    /// <inheritdoc/>
    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        new(GetToken(requestContext, cancellationToken));
}

using Azure.Identity;

namespace Serverless.Storage.Tests;

/// <summary>How a storage connection setting resolves, for each service, as Azure Functions reads one.</summary>
public sealed class StorageConnectionTests
{
    private static StorageConnection Resolve(string service, params (string Key, string Value)[] settings)
    {
        var map = settings.ToDictionary(s => s.Key, s => s.Value);
        return StorageConnection.Resolve("Store", name => map.GetValueOrDefault(name), service);
    }

    [Fact]
    public void ConnectionString_WinsOverIdentitySettings()
    {
        var c = Resolve("queue", ("Store", "UseDevelopmentStorage=true"), ("Store__accountName", "acct"));

        Assert.Equal("UseDevelopmentStorage=true", c.ConnectionString);
        Assert.Null(c.ServiceUri);
        Assert.Null(c.Credential);
        Assert.Throws<InvalidOperationException>(() => c.ResourceUri("jobs"));
    }

    [Theory]
    [InlineData("queue", "Store__queueServiceUri", "https://q.example/acct", "https://q.example/acct/jobs")]
    [InlineData("queue", "Store__serviceUri", "https://any.example/acct/", "https://any.example/acct/jobs")]
    [InlineData("blob", "Store__blobServiceUri", "http://127.0.0.1:10000/devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1/jobs")]
    [InlineData("queue", "Store__accountName", "acct", "https://acct.queue.core.windows.net/jobs")]
    [InlineData("blob", "Store__accountName", "acct", "https://acct.blob.core.windows.net/jobs")]
    public void IdentityBased_EndpointPerService(string service, string key, string value, string expected)
    {
        var c = Resolve(service, (key, value));

        Assert.Null(c.ConnectionString);
        Assert.Equal(new Uri(expected), c.ResourceUri("jobs"));
        Assert.IsType<DefaultAzureCredential>(c.Credential);
    }

    [Fact]
    public void ManagedIdentitySetting_UsesManagedIdentity()
    {
        var c = Resolve("queue", ("Store__accountName", "acct"), ("Store__credential", "managedidentity"), ("Store__clientId", "00000000-0000-0000-0000-000000000001"));

        Assert.IsType<ManagedIdentityCredential>(c.Credential);
    }

    [Fact]
    public void AnotherServicesUri_IsNotTaken()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Resolve("queue", ("Store__blobServiceUri", "https://b.example/acct")));

        Assert.Contains("'Store__queueServiceUri'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'Store__accountName'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadEndpoint_NamesTheSetting()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Resolve("queue", ("Store__queueServiceUri", "ftp://x")));

        Assert.Contains("'Store__queueServiceUri' does not give an absolute http(s) queue endpoint", e.Message, StringComparison.Ordinal);
    }
}

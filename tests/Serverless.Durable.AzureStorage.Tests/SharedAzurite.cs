using Serverless.Durable.AzureStorage;
using Serverless.Testing.Azurite;

namespace Serverless.Durable.AzureStorage.Tests;

/// <summary>One on-disk Azurite shared by the tests of the "azurite" collection; each test uses its own task hub.</summary>
public sealed class SharedAzurite : AzuriteFixture
{
    /// <summary>Options for a fresh hub with short leases (so tests do not wait 30 s for a takeover).</summary>
    public AzureStorageBackendOptions NewHub(Action<AzureStorageBackendOptions>? _ = null) => new()
    {
        ConnectionString = ConnectionString,
        TaskHubName = "t" + Guid.NewGuid().ToString("N")[..16],
        LeaseTimeout = TimeSpan.FromSeconds(4),
        LeaseRenewInterval = TimeSpan.FromSeconds(1),
    };
}

[CollectionDefinition("azurite")]
public sealed class AzuriteCollection : ICollectionFixture<SharedAzurite>;

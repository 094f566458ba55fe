namespace Serverless.Hosting.Configuration;

/// <summary>host.json <c>extensions.durableTask.storageProvider</c>: which provider, its connection, and its own keys.</summary>
public sealed class DurableStorageProviderSettings
{
    /// <summary>Durable Functions' default provider type.</summary>
    public const string AzureStorageType = "AzureStorage";

    /// <summary><c>type</c>: the provider, matched case-insensitively against the registered
    /// <see cref="Providers.IDurableProviderFactory.ProviderType"/>s. Default <c>AzureStorage</c>, as in Durable Functions.</summary>
    public string Type { get; init; } = AzureStorageType;

    /// <summary><c>connectionStringName</c>: the app setting (environment variable) that holds the connection string.
    /// Default null: the provider's default (<c>AzureWebJobsStorage</c> for Azure Storage).</summary>
    public string? ConnectionStringName { get; init; }

    /// <summary>The whole <c>storageProvider</c> object, for the provider's own keys (<c>partitionCount</c>, ...).
    /// The provider factory validates them; the reader has checked only <c>type</c> and <c>connectionStringName</c>.</summary>
    public required HostJsonSection Section { get; init; }
}

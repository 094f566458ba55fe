namespace Serverless.Hosting.Providers;

/// <summary>
/// Creates the provider host.json's <c>extensions.durableTask.storageProvider.type</c> names. The seam through which a
/// storage provider plugs into the runtime, the client and the HTTP API with one registration
/// (<c>services.AddSingleton&lt;IDurableProviderFactory, MyFactory&gt;()</c>); nothing else in this library knows a
/// provider's concrete type.
/// </summary>
public interface IDurableProviderFactory
{
    /// <summary>The <c>storageProvider.type</c> value this factory serves, matched case-insensitively (e.g. <c>AzureStorage</c>).</summary>
    string ProviderType { get; }

    /// <summary>
    /// Creates the provider without touching storage (that happens in <see cref="DurableProvider.InitializeAsync"/>).
    /// Reads its own <c>storageProvider</c> keys from <see cref="DurableProviderContext.Settings"/> and throws
    /// <see cref="Configuration.HostJsonException"/> for unknown or invalid ones.
    /// </summary>
    DurableProvider Create(DurableProviderContext context);
}

using DurableTask.AzureStorage;

namespace Serverless.Hosting.Providers;

/// <summary>Code-level settings of the Azure Storage provider, beyond what host.json carries
/// (<c>services.Configure&lt;AzureStorageProviderOptions&gt;(...)</c>).</summary>
public sealed class AzureStorageProviderOptions
{
    /// <summary>
    /// Runs last on the DTFx settings built from host.json, for what Durable Functions' schema does not expose (lease
    /// intervals for fast failover in tests, a token credential). Default null.
    /// </summary>
    public Action<AzureStorageOrchestrationServiceSettings>? Configure { get; set; }

    /// <summary>Start Azurite for <c>UseDevelopmentStorage=true</c> when nothing listens on its ports. Default true.</summary>
    public bool StartAzurite { get; set; } = true;

    /// <summary>
    /// Blob, queue and table ports on 127.0.0.1 that <c>UseDevelopmentStorage=true</c> means. Default null: Azurite's
    /// well-known 10000-10002. Set it where those ports are taken (a second checkout, parallel test runs).
    /// </summary>
    public IReadOnlyList<int>? DevelopmentStoragePorts { get; set; }
}

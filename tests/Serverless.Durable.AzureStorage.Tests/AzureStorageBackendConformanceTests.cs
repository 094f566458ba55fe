using Serverless.Durable.Backend;
using Serverless.Durable.Tests.Conformance;

namespace Serverless.Durable.AzureStorage.Tests;

/// <summary>The engine's conformance suite on the Azure Storage backend against a real Azurite (a fresh hub per test).</summary>
[Collection("azurite")]
public sealed class AzureStorageBackendConformanceTests(SharedAzurite azurite) : BackendConformanceTests
{
    protected override IOrchestrationBackend CreateBackend(TimeProvider? time = null) =>
        new AzureStorageOrchestrationBackend(azurite.NewHub(), time);
}

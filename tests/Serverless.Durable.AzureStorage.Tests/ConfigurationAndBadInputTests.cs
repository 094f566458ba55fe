using Serverless.Durable.Http.Configuration;
using Serverless.Storage;
using Serverless.Storage.Queues;
using Serverless.Testing.Azurite;

namespace Serverless.Durable.AzureStorage.Tests;

/// <summary>host.json selecting the backend, and what bad credentials or missing resources do.</summary>
[Collection("azurite")]
public sealed class ConfigurationAndBadInputTests(SharedAzurite azurite)
{
    private static void Hello(DurableTaskRegistry r) => r
        .AddActivityFunc<string, string>("SayHello", (_, name) => $"Hello {name}!")
        .AddOrchestratorFunc<string?, string>("Hello", async (ctx, _) => await ctx.CallActivityAsync<string>("SayHello", "Azurite"));

    [Fact]
    public async Task CreateBackend_HostJsonAzureStorageWithConnectionName_RunsOnAzurite()
    {
        var hub = "h" + Guid.NewGuid().ToString("N")[..12];
        var json = """{"version":"2.0","extensions":{"durableTask":{"hubName":"HUB","storageProvider":{"type":"AzureStorage","connectionStringName":"MyStorage"}}}}""";
        var settings = HostJsonReader.Parse(json.Replace("HUB", hub, StringComparison.Ordinal), "host.json");
        var backend = DurableBackendFactory.CreateBackend(settings, name => name == "MyStorage" ? azurite.ConnectionString : null);
        var azure = Assert.IsType<AzureStorageOrchestrationBackend>(backend);
        Assert.Equal(hub, azure.TaskHubName);
        await using var host = await global::Serverless.Durable.Tests.TestHost.StartAsync(backend, Hello);
        var result = await host.RunAsync("Hello");
        Assert.Equal("Hello Azurite!", result.ReadOutputAs<string>());
        // The hub's queues exist under the hub's name, as Durable Functions names them.
        Assert.True((await new QueueServiceClient(azurite.ConnectionString).GetQueueClient($"{hub}-control-00").ExistsAsync()).Value);
    }

    [Fact]
    public void CreateBackend_AzureStorageDefaultConnectionName_ReadsAzureWebJobsStorageAndDevelopmentStorage()
    {
        var settings = HostJsonReader.Parse("""{"extensions":{"durableTask":{"storageProvider":{"type":"AzureStorage"}}}}""", "app/host.json");
        var backend = DurableBackendFactory.CreateBackend(settings, name => name == "AzureWebJobsStorage" ? "UseDevelopmentStorage=true" : null);
        Assert.Equal("testhubname", Assert.IsType<AzureStorageOrchestrationBackend>(backend).TaskHubName);
        var ex = Assert.Throws<InvalidOperationException>(() => DurableBackendFactory.CreateBackend(settings, _ => null));
        Assert.Contains("AzureWebJobsStorage", ex.Message, StringComparison.Ordinal);
        Assert.Contains("app/host.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InitializeAsync_WrongAccountKey_AuthenticationErrorNamesAccountEndpointAndRequestId()
    {
        var wrongKey = Convert.ToBase64String(new byte[64]);
        var cs = azurite.ConnectionString.Replace(AzuriteProcess.AccountKey, wrongKey, StringComparison.Ordinal);
        await using var backend = new AzureStorageOrchestrationBackend(new AzureStorageBackendOptions { ConnectionString = cs, TaskHubName = "forbidden" });
        var ex = await Assert.ThrowsAsync<StorageAuthenticationFailedException>(() => backend.InitializeAsync());
        Assert.Equal(403, ex.Status);
        Assert.Contains(AzuriteProcess.AccountName, ex.Message, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", ex.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(ex.RequestId));
        Assert.Contains(ex.RequestId!, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueuesDeletedAfterInitialize_CreatedAgainOnFirstUse_RunCompletes()
    {
        var options = azurite.NewHub();
        await using var host = await global::Serverless.Durable.Tests.TestHost.StartAsync(new AzureStorageOrchestrationBackend(options), Hello, startWorker: false);
        var queues = new QueueServiceClient(azurite.ConnectionString);
        var hub = options.TaskHubName.ToLowerInvariant();
        for (var p = 0; p < 4; p++) await queues.GetQueueClient($"{hub}-control-{p:D2}").DeleteAsync();
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync("Hello");
        await host.AddWorkerAsync(Hello);
        var result = await host.WaitAsync(id);
        Assert.Equal("Hello Azurite!", result.ReadOutputAs<string>());
    }

    [Fact]
    public void Constructor_InvalidHubName_ThrowsNamingRule()
    {
        var ex = Assert.Throws<ArgumentException>(() => new AzureStorageOrchestrationBackend(new AzureStorageBackendOptions { ConnectionString = "UseDevelopmentStorage=true", TaskHubName = "my_hub!" }));
        Assert.Contains("my_hub!", ex.Message, StringComparison.Ordinal);
        Assert.Contains("letters and digits", ex.Message, StringComparison.Ordinal);
    }
}

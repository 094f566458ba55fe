using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Hosting.Configuration;

namespace Serverless.Hosting.Tests.Configuration;

/// <summary>
/// Orchestrators registered by type (<c>AddOrchestrator&lt;T&gt;()</c>). The SDK creates orchestrators without dependency
/// injection (they must be deterministic; only activities get services), so a type whose constructor takes services
/// cannot be created: its instance fails with that reason instead of staying Pending forever, as it did before.
/// </summary>
public sealed class ClassRegistrationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("class-registration-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A service nobody registers.</summary>
    public sealed class Missing;

    /// <summary>Parameterless, as the SDK creates orchestrators.</summary>
    public sealed class Greeter : TaskOrchestrator<string, string>
    {
        public override Task<string> RunAsync(TaskOrchestrationContext context, string input) => Task.FromResult($"hello {input}");
    }

    /// <summary>Takes a service in its constructor.</summary>
    public sealed class Broken(Missing missing) : TaskOrchestrator<string, string>
    {
        public override Task<string> RunAsync(TaskOrchestrationContext context, string input) => Task.FromResult(missing.ToString()!);
    }

    private async Task<OrchestrationMetadata> RunAsync(string name)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddDurableTaskHosting(o =>
        {
            o.Settings = HostJsonReader.Parse("""{ "extensions": { "durableTask": { "hubName": "Classes", "storageProvider": { "type": "sqlite" } } } }""", "(test)", _folder);
            o.HomeDirectory = _folder;
        }).AddTasks(r => r.AddOrchestrator<Greeter>().AddOrchestrator<Broken>());
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var client = host.Services.GetRequiredService<DurableTaskClient>();
            var id = await client.ScheduleNewOrchestrationInstanceAsync(name, "world");
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            return await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task AddOrchestratorByType_ParameterlessConstructor_Completes()
    {
        var done = await RunAsync(nameof(Greeter));
        Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed, done.FailureDetails?.ErrorMessage);
        Assert.Equal("hello world", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task AddOrchestratorByType_ConstructorTakesServices_FailsNamingTheReason()
    {
        var done = await RunAsync(nameof(Broken));
        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Contains($"Could not create orchestrator '{nameof(Broken)}'", done.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("parameterless constructor", done.FailureDetails.ErrorMessage, StringComparison.Ordinal);
    }
}

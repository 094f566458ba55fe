using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Hosting.Configuration;
using Serverless.Hosting.Providers;

namespace Serverless.Hosting.Tests.Configuration;

/// <summary><c>storageProvider.type: sqlite</c>: host.json keys mapped onto the embedded provider, the database path
/// from the app setting or the home folder, and an orchestration run end to end through the hosting registration.</summary>
public sealed class SqliteProviderFactoryTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sqlite-factory-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private DurableTaskHostSettings Load(string durableTask)
    {
        var path = Path.Combine(_folder, "host.json");
        File.WriteAllText(path, $$"""{ "version": "2.0", "extensions": { "durableTask": { {{durableTask}} } } }""");
        return HostJsonReader.Load(path);
    }

    private DurableProviderContext Context(DurableTaskHostSettings settings, Dictionary<string, string> appSettings) =>
        new(settings, n => appSettings.GetValueOrDefault(n), _folder, NullLoggerFactory.Instance, new ServiceCollection().BuildServiceProvider());

    [Fact]
    public void Map_EveryKey_MapsOntoProviderSettings()
    {
        var settings = Load("""
            "hubName": "Hub1", "maxConcurrentActivityFunctions": 5, "maxConcurrentOrchestratorFunctions": 3,
            "extendedSessionsEnabled": false, "extendedSessionIdleTimeoutInSeconds": 12,
            "storageProvider": { "type": "sqlite", "fullSync": true, "pollingInterval": "00:00:00.050", "workItemLockTimeout": "00:01:00" }
            """);
        var s = SqliteProviderFactory.Map(settings, Path.Combine(_folder, "x.db"));
        Assert.Equal("Hub1", s.TaskHubName);
        Assert.Equal(5, s.MaxConcurrentActivityWorkItems);
        Assert.Equal(3, s.MaxConcurrentOrchestrationWorkItems);
        Assert.False(s.ExtendedSessionsEnabled);
        Assert.Equal(TimeSpan.FromSeconds(12), s.ExtendedSessionIdleTimeout);
        Assert.True(s.FullSync);
        Assert.Equal(TimeSpan.FromMilliseconds(50), s.PollingInterval);
        Assert.Equal(TimeSpan.FromMinutes(1), s.WorkItemLockTimeout);
    }

    [Fact]
    public void Map_UnknownKey_NamesKeyAndFile()
    {
        var settings = Load("""
            "storageProvider": { "type": "sqlite", "partitionCount": 4 }
            """);
        var ex = Assert.Throws<HostJsonException>(() => SqliteProviderFactory.Map(settings, Path.Combine(_folder, "x.db")));
        Assert.Contains("partitionCount", ex.Message, StringComparison.Ordinal);
        Assert.Contains(settings.SourcePath!, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "durable.db")]
    [InlineData("state/hub.db", "state/hub.db")]
    [InlineData("Data Source=other.db;", "other.db")]
    public void DatabasePath_Setting_ResolvesAgainstHome(string? value, string expected)
    {
        var settings = Load("""
            "storageProvider": { "type": "sqlite", "connectionStringName": "MyDb" }
            """);
        var app = new Dictionary<string, string>();
        if (value is not null) app["MyDb"] = value;
        Assert.Equal(Path.Combine(_folder, expected), SqliteProviderFactory.DatabasePath(Context(settings, app)));
    }

    [Fact]
    public async Task AddDurableTaskHosting_SqliteHostJson_RunsOrchestration()
    {
        var settings = Load("""
            "hubName": "Embedded", "storageProvider": { "type": "sqlite" }
            """);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddDurableTaskHosting(o => { o.Settings = settings; o.HomeDirectory = _folder; })
            .AddTasks(r => r
                .AddActivityFunc<int, int>("Double", (_, x) => x * 2)
                .AddOrchestratorFunc<int, int>("Twice", async (ctx, x) => await ctx.CallActivityAsync<int>("Double", await ctx.CallActivityAsync<int>("Double", x))));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var client = host.Services.GetRequiredService<DurableTaskClient>();
            var id = await client.ScheduleNewOrchestrationInstanceAsync("Twice", 5);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            Assert.Equal(20, done.ReadOutputAs<int>());
            Assert.True(File.Exists(Path.Combine(_folder, SqliteProviderFactory.DefaultFileName)));
        }
        finally
        {
            await host.StopAsync();
        }
    }
}

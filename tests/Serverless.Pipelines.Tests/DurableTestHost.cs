using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Hosting;
using Serverless.Hosting.Configuration;

namespace Serverless.Pipelines.Tests;

/// <summary>
/// The real Durable Task runtime for tests: Microsoft.DurableTask classes on DTFx's TaskHubWorker (Serverless.Hosting)
/// with the SQLite provider on a file in a temp folder: fast, no emulator. Shared with other test projects as a linked file.
/// </summary>
internal sealed class DurableTestHost : IAsyncDisposable
{
    private readonly IHost host;

    private DurableTestHost(IHost host)
    {
        this.host = host;
        Client = host.Services.GetRequiredService<DurableTaskClient>();
    }

    /// <summary>The client of the host's task hub.</summary>
    public DurableTaskClient Client { get; }

    /// <summary>The host's services.</summary>
    public IServiceProvider Services => host.Services;

    /// <summary>Starts a worker on <c>{folder}/durable.db</c> with the services and tasks given.</summary>
    public static async Task<DurableTestHost> StartAsync(string folder, Action<IServiceCollection> services, Action<DurableTaskRegistry> tasks)
    {
        var database = Path.Combine(folder, "durable.db");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddDurableTaskHosting(o =>
        {
            o.Settings = HostJsonReader.Parse("""{ "extensions": { "durableTask": { "hubName": "Tests", "storageProvider": { "type": "sqlite" } } } }""", "(test)", folder);
            o.HomeDirectory = folder;
            o.ReadAppSetting = name => name == "DurableStorage" ? database : null;
        }).AddTasks(tasks);
        services(builder.Services);
        var host = builder.Build();
        await host.StartAsync();
        return new DurableTestHost(host);
    }

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
    }
}

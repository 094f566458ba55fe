using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.Hosting.Azurite;
using Serverless.Hosting.Configuration;
using Serverless.Hosting.Providers;

namespace Serverless.Hosting.Tests.Configuration;

/// <summary>
/// Azurite started for <c>UseDevelopmentStorage=true</c>: by the runtime when nothing listens, with its data in the
/// app's home folder, stopped on dispose; a second run sees the first run's instances. The tests use free ports
/// (<see cref="AzureStorageProviderOptions.DevelopmentStoragePorts"/>) instead of 10000-10002, which may be in use.
/// </summary>
public sealed class AzuriteLauncherTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("azurite-home-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_home, recursive: true); } catch (IOException) { }
    }

    private static int[] FreePorts()
    {
        var listeners = Enumerable.Range(0, 3).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }

    private static async Task<bool> ListensAsync(int port)
    {
        using var c = new TcpClient();
        try { await c.ConnectAsync(IPAddress.Loopback, port); return true; } catch (SocketException) { return false; }
    }

    private IHost BuildHost(int[] ports)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var settings = HostJsonReader.Parse("""{"extensions":{"durableTask":{"hubName":"LocalHub","storageProvider":{"partitionCount":1,"maxQueuePollingInterval":"00:00:00.100"}}}}""", "local-host.json");
        builder.Services.AddDurableTaskHosting(o =>
        {
            o.Settings = settings;
            o.ReadAppSetting = name => name == "AzureWebJobsStorage" ? "UseDevelopmentStorage=true" : null;
            o.HomeDirectory = _home;
        }).AddTasks(r => r
            .AddActivityFunc<string, string>("Shout", (_, s) => s.ToUpperInvariant())
            .AddOrchestratorFunc<string, string>("Loud", (ctx, s) => ctx.CallActivityAsync<string>("Shout", s)));
        builder.Services.Configure<AzureStorageProviderOptions>(o => o.DevelopmentStoragePorts = ports);
        return builder.Build();
    }

    [Fact]
    public async Task DevelopmentStorage_NothingListening_StartsAzuriteInHomeStopsItAndSecondRunSeesFirstRunsInstance()
    {
        var ports = FreePorts();
        using (var first = BuildHost(ports))
        {
            await first.StartAsync();
            Assert.True(await ListensAsync(ports[1]));
            var client = first.Services.GetRequiredService<DurableTaskClient>();
            await client.ScheduleNewOrchestrationInstanceAsync("Loud", "remember me", new StartOrchestrationOptions("first-run"));
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            Assert.Equal("REMEMBER ME", (await client.WaitForInstanceCompletionAsync("first-run", true, cts.Token)).ReadOutputAs<string>());
            await first.StopAsync();
        }
        // Disposing the host disposed the provider, which stopped the Azurite it started.
        Assert.False(await ListensAsync(ports[0]));
        Assert.True(Directory.EnumerateFileSystemEntries(Path.Combine(_home, "azurite")).Any());

        using var second = BuildHost(ports);
        await second.StartAsync();
        var again = await second.Services.GetRequiredService<DurableTaskClient>().GetInstanceAsync("first-run", getInputsAndOutputs: true);
        Assert.NotNull(again);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, again.RuntimeStatus);
        Assert.Equal("REMEMBER ME", again.ReadOutputAs<string>());
        await second.StopAsync();
    }

    [Fact]
    public async Task EnsureRunning_AlreadyListening_StartsNothingAndLeavesItRunning()
    {
        var ports = FreePorts();
        await using var owner = await AzuriteLauncher.EnsureRunningAsync(Path.Combine(_home, "a"), ports);
        Assert.True(owner.Started);
        Assert.NotNull(owner.ProcessId);
        var guest = await AzuriteLauncher.EnsureRunningAsync(Path.Combine(_home, "b"), ports);
        Assert.False(guest.Started);
        await guest.DisposeAsync();
        Assert.True(await ListensAsync(ports[2]));
        Assert.False(Directory.Exists(Path.Combine(_home, "b")));
        var pid = owner.ProcessId!.Value;
        await owner.DisposeAsync();
        Assert.False(await ListensAsync(ports[0]));
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(pid));
    }

    [Fact]
    public async Task EnsureRunning_SomePortsTakenBySomethingElse_ThrowsNamingPorts()
    {
        var ports = FreePorts();
        var squatter = new TcpListener(IPAddress.Loopback, ports[1]);
        squatter.Start();
        try
        {
            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => AzuriteLauncher.EnsureRunningAsync(Path.Combine(_home, "c"), ports));
            Assert.Contains(ports[1].ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            squatter.Stop();
        }
    }

    [Theory]
    [InlineData("UseDevelopmentStorage=true", true)]
    [InlineData("usedevelopmentstorage=TRUE;", true)]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=b", false)]
    public void IsDevelopmentStorage_ConnectionString_Detected(string connection, bool expected) =>
        Assert.Equal(expected, AzuriteLauncher.IsDevelopmentStorage(connection));
}

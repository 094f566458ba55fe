
using DurableTask.Core;
using DurableTask.Core.Serializing;
using Newtonsoft.Json;

namespace Serverless.DurableTask.Sqlite.Tests;

/// <summary>
/// A task hub on a temporary SQLite file: the provider, DTFx's TaskHubWorker running the registered orchestrations and
/// activities, and a TaskHubClient. Disposing stops the worker and deletes the folder.
/// </summary>
public sealed class TestHub : IAsyncDisposable
{
    private readonly List<TaskHubWorker> _workers = [];
    private readonly List<SqliteOrchestrationService> _services = [];
    private readonly bool _ownsDirectory;

    private TestHub(string directory, bool ownsDirectory, SqliteOrchestrationService service)
    {
        Directory = directory;
        _ownsDirectory = ownsDirectory;
        Service = service;
        _services.Add(service);
        // The SDK reads inputs with System.Text.Json: give the DTFx client plain JSON (no $type names).
        Client = new TaskHubClient(service, new JsonDataConverter(new JsonSerializerSettings()));
    }

    /// <summary>The folder holding the database file.</summary>
    public string Directory { get; }

    /// <summary>The database file.</summary>
    public string DatabasePath => Path.Combine(Directory, "hub.db");

    /// <summary>The first service (client and worker).</summary>
    public SqliteOrchestrationService Service { get; }

    /// <summary>DTFx's client over <see cref="Service"/>.</summary>
    public TaskHubClient Client { get; }

    /// <summary>Starts a hub with one worker.</summary>
    public static async Task<TestHub> StartAsync(Action<TaskHubWorker> register, Func<SqliteOrchestrationServiceSettings, SqliteOrchestrationServiceSettings>? configure = null,
        bool startWorker = true, string? directory = null, TimeProvider? time = null)
    {
        var dir = directory ?? System.IO.Directory.CreateTempSubdirectory("dtfx-sqlite-").FullName;
        var settings = Settings(Path.Combine(dir, "hub.db"), configure);
        var hub = new TestHub(dir, directory == null, new SqliteOrchestrationService(settings, time));
        await hub.Service.CreateIfNotExistsAsync();
        if (startWorker) await hub.StartWorkerAsync(hub.Service, register);
        return hub;
    }

    /// <summary>Default test settings: a short polling interval, then the test's changes.</summary>
    public static SqliteOrchestrationServiceSettings Settings(string path, Func<SqliteOrchestrationServiceSettings, SqliteOrchestrationServiceSettings>? configure = null)
    {
        var settings = new SqliteOrchestrationServiceSettings { DatabasePath = path, PollingInterval = TimeSpan.FromMilliseconds(50) };
        return configure?.Invoke(settings) ?? settings;
    }

    /// <summary>Test settings with extended sessions on or off (and an idle timeout).</summary>
    public static Func<SqliteOrchestrationServiceSettings, SqliteOrchestrationServiceSettings> Sessions(bool on, TimeSpan? idleTimeout = null) =>
        s => new SqliteOrchestrationServiceSettings
        {
            DatabasePath = s.DatabasePath,
            PollingInterval = s.PollingInterval,
            ExtendedSessionsEnabled = on,
            ExtendedSessionIdleTimeout = idleTimeout ?? s.ExtendedSessionIdleTimeout,
        };

    /// <summary>Another service on the same file (another worker in this process).</summary>
    public SqliteOrchestrationService AddService(Func<SqliteOrchestrationServiceSettings, SqliteOrchestrationServiceSettings>? configure = null)
    {
        var service = new SqliteOrchestrationService(Settings(DatabasePath, configure));
        _services.Add(service);
        return service;
    }

    /// <summary>Starts a TaskHubWorker on <paramref name="service"/>.</summary>
    public async Task<TaskHubWorker> StartWorkerAsync(SqliteOrchestrationService service, Action<TaskHubWorker> register)
    {
        var worker = new TaskHubWorker(service) { ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails };
        register(worker);
        await worker.StartAsync();
        _workers.Add(worker);
        return worker;
    }

    /// <summary>Starts an orchestration with a given id and input.</summary>
    public Task<OrchestrationInstance> StartAsync(string name, object? input, string? instanceId = null) =>
        Client.CreateOrchestrationInstanceAsync(name, string.Empty, instanceId ?? Guid.NewGuid().ToString("N"), input);

    /// <summary>Waits for the instance to finish (fails the test after <paramref name="seconds"/>).</summary>
    public async Task<OrchestrationState> WaitAsync(OrchestrationInstance instance, int seconds = 30)
    {
        var state = await Client.WaitForOrchestrationAsync(instance, TimeSpan.FromSeconds(seconds));
        if (state != null) return state;
        var now = await Client.GetOrchestrationStateAsync(instance.InstanceId);
        throw new TimeoutException($"Instance {instance.InstanceId} did not finish in {seconds} s; it is {now?.OrchestrationStatus}.");
    }

    /// <summary>Runs an orchestration to its end.</summary>
    public async Task<OrchestrationState> RunAsync(string name, object? input, string? instanceId = null, int seconds = 30) =>
        await WaitAsync(await StartAsync(name, input, instanceId), seconds);

    /// <summary>Polls the instance until <paramref name="condition"/> holds.</summary>
    public async Task<OrchestrationState> WaitForAsync(string instanceId, Func<OrchestrationState, bool> condition, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var state = await Client.GetOrchestrationStateAsync(instanceId);
            if (state != null && condition(state)) return state;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Instance {instanceId} did not reach the expected state; it is {state?.OrchestrationStatus}.");
            await Task.Delay(20);
        }
    }

    /// <summary>Reads an orchestration output written by the SDK (System.Text.Json).</summary>
    public static T Output<T>(OrchestrationState state) => System.Text.Json.JsonSerializer.Deserialize<T>(state.Output)!;

    public async ValueTask DisposeAsync()
    {
        foreach (var w in _workers) await w.StopAsync(isForced: true);
        foreach (var s in _services) await s.DisposeAsync();
        if (_ownsDirectory)
        {
            try
            {
                System.IO.Directory.Delete(Directory, true);
            }
            catch (IOException)
            {
            }
        }
    }
}

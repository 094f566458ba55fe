using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Hosting;
using Serverless.Hosting.Configuration;
using Serverless.Pipelines.Hosting;

namespace Serverless.Functions.Tests;

/// <summary>
/// The function app's classes on the local durable runtime (Serverless.Hosting on the SQLite provider): the app's services
/// (<see cref="PipelineFunctionsSetup.AddPipelineFunctions"/>, as Program.cs registers them) in a host whose worker runs
/// every <c>[OrchestrationTrigger]</c> and <c>[ActivityTrigger]</c> method of the app under its function name, invoked by
/// reflection with a real <see cref="TaskOrchestrationContext"/> and the durable client as the <c>[DurableClient]</c>
/// argument. The Functions host is not involved.
/// </summary>
internal sealed class FunctionsHost : IAsyncDisposable
{
    private readonly IHost host;

    private FunctionsHost(IHost host, string home, PipelineHostOptions options, ConcurrentQueue<string> invoked)
    {
        this.host = host;
        Invoked = invoked;
        Home = home;
        Options = options;
        Client = host.Services.GetRequiredService<DurableTaskClient>();
    }

    public string Home { get; }

    public PipelineHostOptions Options { get; }

    /// <summary>The local runtime's client: what the tests pass as the <c>[DurableClient]</c> binding.</summary>
    public DurableTaskClient Client { get; }

    public IServiceProvider Services => host.Services;

    public PipelineRuntime Runtime => host.Services.GetRequiredService<PipelineRuntime>();

    /// <summary>The activity names the worker was given (every activity function of the app).</summary>
    public List<string> Activities { get; } = [];

    /// <summary>The activity functions invoked, by function name, in order.</summary>
    public ConcurrentQueue<string> Invoked { get; }

    /// <summary>Starts a run through the app's runtime as a function would: its [DurableClient] handed over first.</summary>
    public Task<Serverless.Pipelines.Orchestration.PipelineRunInput> StartRunAsync(string pipeline, string runId)
    {
        Services.GetRequiredService<DurableClientBinding>().Use(Client);
        return Runtime.StartAsync(Runtime.FindPipeline(pipeline)!, new RunRequest { RunId = runId, Trigger = "test", Source = Serverless.Pipelines.Orchestration.ParameterSource.Operator });
    }

    /// <summary>Creates a function class as the Functions worker does (constructor injection).</summary>
    public T Create<T>() => ActivatorUtilities.CreateInstance<T>(host.Services);

    public static async Task<FunctionsHost> StartAsync(string home, IDictionary<string, string?>? settings = null)
    {
        var options = PipelineHostOptions.Defaults(home);
        Repo.CopySamples(options.PipelinesFolder);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        var database = Path.Combine(home, "durable.db");
        IServiceProvider? built = null;
        var activities = new List<string>();
        var invoked = new ConcurrentQueue<string>();
        builder.Services.AddDurableTaskHosting(o =>
        {
            o.Settings = HostJsonReader.Parse("""{ "extensions": { "durableTask": { "hubName": "FunctionsTests", "storageProvider": { "type": "sqlite" } } } }""", "(test)", home);
            o.HomeDirectory = home;
            o.ReadAppSetting = name => name == "DurableStorage" ? database : null;
        }).AddTasks(r => RegisterFunctions(r, () => built ?? throw new InvalidOperationException("not built"), activities, invoked));
        builder.Services.AddPipelineFunctions(options, name => settings is not null && settings.TryGetValue(name, out var v) ? v : null);
        var app = builder.Build();
        built = app.Services;
        await app.StartAsync();
        var result = new FunctionsHost(app, home, options, invoked);
        result.Activities.AddRange(activities);
        return result;
    }

    /// <summary>Every durable function method of <see cref="OrchestrationFunctions"/>, registered under its [Function] name.</summary>
    private static void RegisterFunctions(DurableTaskRegistry registry, Func<IServiceProvider> services, List<string> activities, ConcurrentQueue<string> invoked)
    {
        foreach (var method in typeof(OrchestrationFunctions).GetMethods(BindingFlags.Public | BindingFlags.Instance))
        {
            if (method.GetCustomAttribute<FunctionAttribute>() is not { } function) continue;
            var parameters = method.GetParameters();
            var output = method.ReturnType.GetGenericArguments()[0];
            if (parameters[0].GetCustomAttribute<OrchestrationTriggerAttribute>() is not null)
            {
                // The worker's shim hands the input over typed by the registration (a Functions context deserializes it on
                // GetInput<T>): the type each orchestrator function reads.
                var input = OrchestratorInputs.TryGetValue(function.Name, out var type) ? type : throw new InvalidOperationException($"orchestrator function '{function.Name}': add its input type to OrchestratorInputs");
                typeof(FunctionsHost).GetMethod(nameof(AddOrchestrator), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(input, output)
                    .Invoke(null, [registry, function.Name, method, services]);
            }
            else if (parameters[0].GetCustomAttribute<ActivityTriggerAttribute>() is not null)
            {
                typeof(FunctionsHost).GetMethod(nameof(AddActivity), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(parameters[0].ParameterType, output)
                    .Invoke(null, [registry, function.Name, method, services, invoked]);
                activities.Add(function.Name);
            }
        }
    }

    private static readonly Dictionary<string, Type> OrchestratorInputs = new()
    {
        [Serverless.Pipelines.Orchestration.PipelineOrchestrator.Name] = typeof(Serverless.Pipelines.Orchestration.PipelineRunInput),
        [Serverless.Ml.Components.Tuner.TunerTrials.OrchestratorName] = typeof(Serverless.Ml.Components.Tuner.TrialBatch),
    };

    private static void AddOrchestrator<TIn, TOut>(DurableTaskRegistry registry, string name, MethodInfo method, Func<IServiceProvider> services) =>
        registry.AddOrchestratorFunc<TIn, TOut>(name, (context, _) =>
            (Task<TOut>)method.Invoke(ActivatorUtilities.CreateInstance<OrchestrationFunctions>(services()), BindingFlags.DoNotWrapExceptions, null, [context], null)!);

    private static void AddActivity<TIn, TOut>(DurableTaskRegistry registry, string name, MethodInfo method, Func<IServiceProvider> services, ConcurrentQueue<string> invoked) =>
        registry.AddActivityFunc<TIn, TOut>(name, async (_, input) =>
        {
            invoked.Enqueue(name);
            var sp = services();
            var functions = ActivatorUtilities.CreateInstance<OrchestrationFunctions>(sp);
            return await (Task<TOut>)method.Invoke(functions, BindingFlags.DoNotWrapExceptions, null, [input, sp.GetRequiredService<DurableTaskClient>()], null)!;
        });

    /// <summary>Waits for a run to end (generous: the machine is shared).</summary>
    public async Task<OrchestrationMetadata> WaitAsync(string id)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
    }

    /// <summary>Waits for a run and asserts it completed; a failure's message is the assertion's.</summary>
    public async Task<OrchestrationMetadata> CompletedAsync(string id)
    {
        var done = await WaitAsync(id);
        Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed, $"run {id} ended {done.RuntimeStatus}: {done.FailureDetails?.ErrorType}: {done.FailureDetails?.ErrorMessage}");
        return done;
    }

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }
}

/// <summary>Paths in the repository.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>The function app's build output (same configuration as this test assembly), where the Worker Sdk writes
    /// functions.metadata, worker.config.json and extensions.json.</summary>
    public static string FunctionAppOutput
    {
        get
        {
            var configuration = typeof(Repo).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
            return Path.Combine(Root, "functions", "Serverless.Functions", "bin", configuration, "net10.0");
        }
    }

    /// <summary>Copies the sample pipelines and their data into <paramref name="folder"/>.</summary>
    public static void CopySamples(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        foreach (var file in Directory.GetFiles(Path.Combine(Root, "samples"), "*.yaml"))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
        }

        File.Copy(Path.Combine(Root, "samples", "data", "penguins.csv"), Path.Combine(folder, "data", "penguins.csv"), overwrite: true);
    }

    private static string FindRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Serverless.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException($"Serverless.sln not found above {AppContext.BaseDirectory}");
    }
}

/// <summary>A private temporary folder, deleted at the end.</summary>
internal sealed class TempHome : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("sml-functions-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(Path, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

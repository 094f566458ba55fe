using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Pipelines;
using Serverless.Pipelines.Hosting;
using Serverless.Pipelines.Orchestration;

namespace Serverless.TrainerApp.Tests;

/// <summary>
/// One test's world: a home folder with host.json (Azure Storage provider on the fixture's Azurite, a hub and a job queue of
/// its own, local artifacts and metadata shared by both sides), the function app's side in process (Kestrel on a free
/// loopback port serves the job callbacks) and trainer app processes started and SIGKILLed on demand.
/// </summary>
internal sealed class JobHarness : IAsyncDisposable
{
    /// <summary>Every wait of these tests; generous (x5 of what a loaded 2-core machine needs).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    private static int counter;
    private readonly List<Process> trainers = [];
    private readonly StringBuilder trainerOutput = new();
    private WebApplication? app;

    private JobHarness(string connectionString, string trainerJobs, string visibilityTimeout)
    {
        ConnectionString = connectionString;
        Home = Directory.CreateTempSubdirectory("jobs-").FullName;
        var n = Interlocked.Increment(ref counter);
        Hub = $"Jobs{Environment.ProcessId}x{n}";
        QueueName = $"jobs-{Environment.ProcessId}-{n}";
        Directory.CreateDirectory(Path.Combine(Home, "pipelines"));
        HostJson = Path.Combine(Home, "host.json");
        File.WriteAllText(HostJson, $$"""
            {
              "version": "2.0",
              "extensions": {
                "durableTask": {
                  "hubName": "{{Hub}}",
                  "storageProvider": { "type": "AzureStorage", "connectionStringName": "AzureWebJobsStorage", "maxQueuePollingInterval": "00:00:00.500" }
                },
                "pipelines": {
                  "componentAssemblies": [ "{{typeof(JobProbeComponent).Assembly.Location}}" ],
                  "blobTrigger": { "enabled": false },
                  "trainerJobs": { "queueName": "{{QueueName}}", "visibilityTimeout": "{{visibilityTimeout}}", "pollInterval": "00:00:00.200"{{trainerJobs}} }
                }
              }
            }
            """);
    }

    public string ConnectionString { get; }

    public string Home { get; }

    public string Hub { get; }

    public string QueueName { get; }

    public string HostJson { get; }

    public PipelineRuntime Runtime => app!.Services.GetRequiredService<PipelineRuntime>();

    public DurableTaskClient Client => app!.Services.GetRequiredService<DurableTaskClient>();

    /// <summary>What the trainer processes printed.</summary>
    public string TrainerOutput { get { lock (trainerOutput) return trainerOutput.ToString(); } }

    /// <summary>Starts the function app's side. <paramref name="trainerJobs"/> adds settings to <c>trainerJobs</c> (e.g. <c>, "timeout": "00:00:02"</c>).</summary>
    /// <paramref name="visibilityTimeout"/> is the trainer's lease (3 s: a killed worker's job reappears quickly).
    public static async Task<JobHarness> StartAsync(string connectionString, string trainerJobs = "", string visibilityTimeout = "00:00:03")
    {
        var harness = new JobHarness(connectionString, trainerJobs, visibilityTimeout);
        harness.app = PipelineAppHost.Build(new PipelineAppOptions
        {
            HostJsonPath = harness.HostJson,
            HomeDirectory = harness.Home,
            Urls = "http://127.0.0.1:0",
            AccessKey = "job-test-key",
            EnableTriggers = false,
            LogLevel = LogLevel.Warning,
            ReadAppSetting = name => name == "AzureWebJobsStorage" ? connectionString : Environment.GetEnvironmentVariable(name),
        });
        await harness.app.StartAsync();
        return harness;
    }

    /// <summary>Writes <c>pipelines/{name}.yaml</c> and starts a run of it.</summary>
    public async Task<string> StartRunAsync(string name, string yaml, string runId)
    {
        await File.WriteAllTextAsync(Path.Combine(Home, "pipelines", name + ".yaml"), yaml);
        var definition = Runtime.FindPipeline(name) ?? throw new InvalidOperationException($"pipeline {name} not found");
        await Runtime.StartAsync(definition, new RunRequest { RunId = runId, Trigger = "test", Source = ParameterSource.Operator });
        return runId;
    }

    /// <summary>The run's custom status (null before its first turn).</summary>
    public async Task<PipelineRunStatus?> StatusAsync(string runId)
    {
        var instance = await Client.GetInstanceAsync(runId, getInputsAndOutputs: true);
        return instance?.SerializedCustomStatus is null ? null : instance.ReadCustomStatusAs<PipelineRunStatus>();
    }

    /// <summary>The node's line once <paramref name="condition"/> holds for it.</summary>
    public async Task<NodeRunState> WaitForNodeAsync(string runId, string node, Func<NodeRunState, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        NodeRunState? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = (await StatusAsync(runId))?.Nodes.FirstOrDefault(n => n.Node == node);
            if (last is not null && condition(last)) return last;
            await Task.Delay(100);
        }

        throw new TimeoutException($"node '{node}' of run '{runId}': {what} did not happen; last state {last}; trainer output:\n{TrainerOutput}");
    }

    /// <summary>Waits for the run to end and returns its instance.</summary>
    public async Task<OrchestrationMetadata> WaitForRunAsync(string runId)
    {
        using var cancel = new CancellationTokenSource(Patience);
        try
        {
            return await Client.WaitForInstanceCompletionAsync(runId, getInputsAndOutputs: true, cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"run '{runId}' did not end; status {await StatusAsync(runId)}; trainer output:\n{TrainerOutput}");
        }
    }

    /// <summary>Waits until <paramref name="path"/> exists and its text satisfies <paramref name="condition"/>.</summary>
    public async Task WaitForFileAsync(string path, Func<string, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(path) && condition(await File.ReadAllTextAsync(path))) return;
            await Task.Delay(50);
        }

        throw new TimeoutException($"{what} did not happen ({path}); trainer output:\n{TrainerOutput}");
    }

    /// <summary>Starts <c>Serverless.TrainerApp.dll</c> on this home and host.json, as a separate process.</summary>
    public Process StartTrainer()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Serverless.TrainerApp.dll"));
        info.ArgumentList.Add("--host-json");
        info.ArgumentList.Add(HostJson);
        info.ArgumentList.Add("--home");
        info.ArgumentList.Add(Home);
        info.Environment["AzureWebJobsStorage"] = ConnectionString;
        info.Environment.Remove("SERVERLESS_CHECKPOINTS");
        var process = Process.Start(info)!;
        void Collect(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is null) return;
            lock (trainerOutput) trainerOutput.Append(CultureInfoText($"[{process.Id}] ")).AppendLine(e.Data);
        }

        process.OutputDataReceived += Collect;
        process.ErrorDataReceived += Collect;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        trainers.Add(process);
        return process;
    }

    private static string CultureInfoText(FormattableString text) => FormattableString.Invariant(text);

    /// <summary>SIGKILL: no shutdown code runs, the job's lease simply runs out.</summary>
    public static async Task KillAsync(Process process)
    {
        process.Kill();
        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in trainers)
        {
            try
            {
                if (!p.HasExited) await KillAsync(p);
            }
            catch (InvalidOperationException)
            {
            }

            p.Dispose();
        }

        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Home, true);
        }
        catch (IOException)
        {
        }
    }
}

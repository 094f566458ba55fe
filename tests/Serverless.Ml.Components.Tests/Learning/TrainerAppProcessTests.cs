using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Serverless.Durable;
using Serverless.Durable.Backend;
using Serverless.Durable.Http.Configuration;
using Serverless.Metadata;
using Serverless.Ml.Components.Tuner;
using Serverless.Pipelines;
using Serverless.Pipelines.Orchestration;
using Serverless.Storage;

namespace Serverless.Ml.Components.Tests.Learning;

/// <summary>
/// The trainer app (functions/Serverless.TrainerApp) as a real separate process (<c>dotnet Serverless.TrainerApp.dll</c>)
/// on the same host.json, SQLite task hub, metadata file and blob folder as this test process, which plays the function
/// app: it runs the orchestrations and the default pool, and counts the node activities it executes.
/// </summary>
public sealed class TrainerAppProcessTests : IAsyncLifetime
{
    private readonly TempFolder temp = new();
    private readonly ConcurrentBag<string> executedHere = [];
    private readonly List<Process> processes = [];
    private string hostJson = null!;
    private IOrchestrationBackend backend = null!;
    private SqliteMetadataStore metadata = null!;
    private DurableTaskWorker worker = null!;
    private DurableTaskClient client = null!;
    private ComponentRegistry registry = null!;

    private string BlobRoot => temp.Combine("blobs");

    public async Task InitializeAsync()
    {
        hostJson = temp.Write("host.json", """
            { "version": "2.0", "extensions": {
                "durableTask": { "hubName": "TrainerTests", "storageProvider": { "type": "sqlite", "databasePath": "durable.db" } },
                "pipelines": { "blobRoot": "blobs", "metadataPath": "metadata.db", "pipelinesFolder": "pipelines",
                               "roots": { "scratch": "checkpoints" } } } }
            """);
        var settings = HostJsonReader.Load(hostJson);
        backend = DurableBackendFactory.CreateBackend(settings);
        await backend.InitializeAsync();
        metadata = SqliteMetadataStore.Open(temp.Combine("metadata.db"));
        client = new DurableTaskClient(backend, name: settings.HubName);
        registry = MlComponents.Register(ComponentRegistry.CreateWithBuiltIns(), metadata, new DurableTrialRunner(client));
        var runner = new NodeRunner(registry, metadata, new LocalDirectoryBlobStore(BlobRoot));
        var tasks = new DurableTaskRegistry()
            .AddPipelineOrchestrationWithPoolWatch(registry, runner, [], backend)
            .AddTunerOrchestration()
            .AddActivityFunc<NodeRunRequest, NodeRunResult>(PipelineOrchestration.ActivityName(WorkerPools.Default), async (context, request) =>
            {
                executedHere.Add(request.NodeId);
                return (await runner.RunAsync(request, context.CancellationToken)).EnsureSucceeded();
            });
        var options = new DurableTaskWorkerOptions { Pools = [WorkerPools.Default], MaxPollingInterval = TimeSpan.FromMilliseconds(50) };
        PipelineOrchestration.RoutePools(options, [WorkerPools.Gpu]);
        TunerTrials.RoutePool(options);
        worker = new DurableTaskWorker(backend, tasks, options);
        await worker.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var process in processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        await worker.DisposeAsync();
        if (backend is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        metadata.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        temp.Dispose();
    }

    [Fact]
    public async Task Run_NoTrainerAppThenStarted_PendingSaysNoGpuWorkerThenTrialsAndTrainerRunOnlyInTrainerApp()
    {
        var tuner = LearningNodes.Tuner("tuner", new Dictionary<string, MetadataValue>
        {
            ["algorithm"] = "random", ["max_trials"] = 3L, ["max_epochs"] = 10L, ["parallel_trials"] = 2L,
            ["learning_rate"] = "3e-3:3e-2", ["hidden_sizes"] = "16|32,16", ["dropout"] = "0", ["batch_size"] = "16",
        });
        var trainer = LearningNodes.Trainer("trainer", LearningNodes.PenguinsTrainer(temp.Combine("checkpoints")), tuner: "tuner");
        var pipeline = new PipelineDefinition { Name = "penguins", Nodes = [.. LearningNodes.Data(), LearningNodes.Transform(), tuner, trainer] };
        var starter = new PipelineRunStarter(client, registry);
        await starter.StartAsync(starter.Prepare(pipeline, "run1"));

        // No worker serves gpu: the Tuner's trials wait and the run's status says why.
        var pending = await WaitForStatusAsync("run1", s => s.Message.Contains("no worker serves the 'gpu' pool", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        Assert.Equal(NodeState.Pending, pending.Nodes.Single(n => n.Node == "tuner").State);
        Assert.Equal(NodeState.Pending, pending.Nodes.Single(n => n.Node == "trainer").State);

        var app = await StartTrainerAppAsync();
        var status = await WaitForRunAsync("run1", TimeSpan.FromSeconds(120));
        Assert.Equal(PipelineRunState.Succeeded, status.State);
        Assert.Equal(["gen", "schema", "stats", "transform", "tuner"], executedHere.Order(StringComparer.Ordinal));
        var model = await ArtifactAsync(status, "trainer", "model");
        Assert.Equal(app.Id, model.CustomProperties["worker_pid"].IntValue);
        Assert.NotEqual(Environment.ProcessId, app.Id);
        var tuned = await ArtifactAsync(status, "tuner", "best_hyperparameters");
        Assert.Equal($"[{app.Id}]", tuned.CustomProperties["trial_worker_pids"].StringValue);
        Assert.Equal(3, tuned.CustomProperties["trial_count"].IntValue);
    }

    [Fact]
    public async Task Run_TrainerAppKilledMidTraining_RestartedAppResumesFromTheCheckpoint()
    {
        var checkpoints = temp.Combine("checkpoints");
        var parameters = LearningNodes.PenguinsTrainer(checkpoints);
        // A deliberately heavy model for the small data (about 1,800 single-row steps of a 256-256 MLP) so the kill lands mid-run.
        parameters["hidden_sizes"] = "256,256";
        parameters["batch_size"] = 1L;
        parameters["epochs"] = 8L;
        parameters["early_stopping_patience"] = 0L;
        parameters["checkpoint_every_steps"] = 100L;
        var pipeline = new PipelineDefinition { Name = "penguins", Nodes = [.. LearningNodes.Data(), LearningNodes.Transform(), LearningNodes.Trainer("trainer", parameters)] };
        var first = await StartTrainerAppAsync();
        var starter = new PipelineRunStarter(client, registry);
        await starter.StartAsync(starter.Prepare(pipeline, "run2"));

        var checkpoint = await WaitForFileAsync(checkpoints, "checkpoint.bin", TimeSpan.FromSeconds(90));
        first.Kill(); // SIGKILL
        await first.WaitForExitAsync();
        var killedAt = Ml.Training.Training.TrainingCheckpoint.ReadInfo(checkpoint).Step;
        Assert.True((await client.GetInstanceAsync("run2"))!.IsRunning, "training finished before the kill; make it heavier");

        var second = await StartTrainerAppAsync();
        var status = await WaitForRunAsync("run2", TimeSpan.FromSeconds(150));
        Assert.Equal(PipelineRunState.Succeeded, status.State);
        var run = await ArtifactAsync(status, "trainer", "model_run");
        Assert.Equal(second.Id, run.CustomProperties["worker_pid"].IntValue);
        var resumed = run.CustomProperties["resumed_from_step"].IntValue;
        Assert.True(resumed >= killedAt && resumed > 0, $"resumed from {resumed}, checkpoint at kill {killedAt}");
        var trainRows = (await ArtifactAsync(status, "transform", "transformed_examples")).CustomProperties["row_count_train"].IntValue;
        Assert.Equal(8 * trainRows, run.CustomProperties["steps"].IntValue); // every step once: batch 1, all epochs
        Assert.DoesNotContain("trainer", executedHere);
    }

    private async Task<Process> StartTrainerAppAsync()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory); // tests/X/bin/Debug/net10.0/
        var config = dir.Parent!.Name;
        var dll = Path.Combine(TestData.RepositoryRoot(), "functions", "Serverless.TrainerApp", "bin", config, "net10.0", "Serverless.TrainerApp.dll");
        Assert.True(File.Exists(dll), $"trainer app not built: {dll}");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = temp.Path };
        foreach (var arg in new[] { dll, "--host-json", hostJson, "--lock-timeout", "3" })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        processes.Add(process);
        var ready = new TaskCompletionSource();
        var log = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            log.Enqueue(e.Data);
            if (e.Data.StartsWith("trainer app ready", StringComparison.Ordinal)) ready.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var done = await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(done == ready.Task, "trainer app did not start:\n" + string.Join("\n", log));
        return process;
    }

    private async Task<PipelineRunStatus> WaitForStatusAsync(string runId, Func<PipelineRunStatus, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        PipelineRunStatus? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var instance = await client.GetInstanceAsync(runId, getInputsAndOutputs: true);
            last = instance?.ReadCustomStatusAs<PipelineRunStatus>();
            if (last is not null && condition(last))
            {
                return last;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"status condition not met in {timeout}; last: {JsonSerializer.Serialize(last)}");
        return null!;
    }

    private async Task<PipelineRunStatus> WaitForRunAsync(string runId, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var done = await client.WaitForInstanceCompletionAsync(runId, true, cts.Token);
        Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed, done.FailureDetails?.ToString());
        return done.ReadOutputAs<PipelineRunStatus>()!;
    }

    private async Task<Artifact> ArtifactAsync(PipelineRunStatus status, string node, string output)
    {
        var id = status.Nodes.Single(n => n.Node == node).ArtifactIds[output];
        return (await metadata.GetArtifactsByIdAsync([id])).Single();
    }

    private static async Task<string> WaitForFileAsync(string folder, string name, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var found = Directory.Exists(folder) ? Directory.GetFiles(folder, name, SearchOption.AllDirectories).FirstOrDefault() : null;
            if (found is not null)
            {
                return found;
            }

            await Task.Delay(10); // the first checkpoint comes at step 100 of about 1,800: kill soon after it
        }

        Assert.Fail($"no {name} under {folder} within {timeout}");
        return null!;
    }
}

using System.Globalization;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Pipelines;
using Serverless.Pipelines.Hosting;
using Serverless.Pipelines.Hosting.GpuJobs;
using Serverless.Pipelines.Orchestration;
using Serverless.Testing.Azurite;
using History = global::DurableTask.Core.History;

namespace Benchmarks.Suites;

/// <summary>
/// The GPU job path's own cost (<c>./build.sh bench jobs</c>): a pipeline of one <c>pool: gpu</c> node that trains nothing,
/// on Azurite (Azure Storage provider, job queue) with the function app's side and a queue worker in this process, the
/// callback over Kestrel on loopback. <c>gpu_job_overhead_s</c> = from the job submitted (the submit activity's completion
/// in the history) to the <c>TrainingCompleted</c> event received (the orchestrator turn that handles it), median of the
/// runs: queue polling, lease, the node runner's bookkeeping, the callback and the provider's control-queue dispatch.
/// Target &lt; 2 s. Also reported: the whole run's wall time (start to completed status through the client's wait).
/// </summary>
public sealed class JobsSuite : IBenchmarkSuite
{
    /// <inheritdoc/>
    public string Name => "jobs";

    /// <inheritdoc/>
    public async Task RunAsync(BenchmarkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var runs = context.Options.Quick ? 3 : 10;
        var poll = context.Options.Get("poll", "00:00:00.100");
        await using var azurite = await AzuriteProcess.StartAsync();
        var home = Directory.CreateTempSubdirectory("bench-jobs-").FullName;
        try
        {
            var hostJson = Path.Combine(home, "host.json");
            await File.WriteAllTextAsync(hostJson, $$"""
                { "version": "2.0", "extensions": {
                    "durableTask": { "hubName": "BenchJobs", "storageProvider": { "type": "AzureStorage", "connectionStringName": "AzureWebJobsStorage", "maxQueuePollingInterval": "00:00:00.500" } },
                    "pipelines": { "componentAssemblies": [ "{{typeof(JobsSuite).Assembly.Location}}" ], "blobTrigger": { "enabled": false },
                                   "trainerJobs": { "queueName": "bench-jobs", "pollInterval": "{{poll}}" } } } }
                """);
            string? Setting(string name) => name == "AzureWebJobsStorage" ? azurite.ConnectionString : Environment.GetEnvironmentVariable(name);
            var app = PipelineAppHost.Build(new PipelineAppOptions
            {
                HostJsonPath = hostJson, HomeDirectory = home, Urls = "http://127.0.0.1:0", AccessKey = "bench", EnableTriggers = false,
                LogLevel = LogLevel.Warning, ReadAppSetting = Setting,
            });
            await app.StartAsync();
            var runtime = app.Services.GetRequiredService<PipelineRuntime>();
            using var http = new HttpClient();
            // The worker in this process: the same class the trainer app runs, over this app's node runner and stores.
            var worker = new TrainingJobWorker(new TrainingJobQueue(runtime.Options.TrainerJobs!, Setting), runtime.Runner, runtime.Blobs, Path.Combine(home, "scratch"), http);
            await worker.StartAsync(CancellationToken.None);
            try
            {
                Directory.CreateDirectory(runtime.Options.PipelinesFolder);
                await File.WriteAllTextAsync(Path.Combine(runtime.Options.PipelinesFolder, "nothing.yaml"), """
                    name: nothing
                    nodes:
                      - id: job
                        component: BenchNoOp
                        pool: gpu
                        cache: false
                    """);
                var overheads = new List<double>();
                var walls = new List<double>();
                for (var i = 0; i <= runs; i++)
                {
                    var id = $"bench-{i}";
                    var wall = System.Diagnostics.Stopwatch.StartNew();
                    await runtime.StartAsync(runtime.FindPipeline("nothing")!, new RunRequest { RunId = id, Trigger = "bench", Source = ParameterSource.Operator });
                    using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(5));
                    var done = await runtime.Client.WaitForInstanceCompletionAsync(id, cancellation: cancel.Token);
                    if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
                    {
                        throw new InvalidOperationException($"run {id} ended {done.RuntimeStatus}");
                    }

                    wall.Stop();
                    var overhead = Overhead(await runtime.Client.GetOrchestrationHistoryAsync(id, cancel.Token));
                    if (i > 0)
                    {
                        // run 0 pays JIT and queue creation
                        overheads.Add(overhead);
                        walls.Add(wall.Elapsed.TotalSeconds);
                    }
                }

                overheads.Sort();
                walls.Sort();
                context.Report("gpu_job_overhead_s", overheads[overheads.Count / 2], "s", new Dictionary<string, object>
                {
                    ["runs"] = string.Join(",", overheads.Select(o => Math.Round(o, 3).ToString(CultureInfo.InvariantCulture))),
                    ["worker_poll"] = poll,
                    ["run_wall_s_median"] = Math.Round(walls[walls.Count / 2], 3),
                    ["target"] = "< 2 s on Azurite",
                    ["note"] = "median; submitted = submit activity completed, received = the orchestrator turn handling TrainingCompleted",
                });
            }
            finally
            {
                await worker.StopAsync(CancellationToken.None);
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(home, true); } catch (IOException) { }
        }
    }

    private static double Overhead(IList<History.HistoryEvent> history)
    {
        var submit = history.OfType<History.TaskScheduledEvent>().Single(e => e.Name == TrainingJobOrchestration.SubmitActivityName);
        var submitted = history.OfType<History.TaskCompletedEvent>().Single(e => e.TaskScheduledId == submit.EventId).Timestamp;
        var raised = history.Select((e, i) => (e, i)).First(x => x.e is History.EventRaisedEvent r && r.Name!.StartsWith("TrainingCompleted", StringComparison.Ordinal)).i;
        var turn = history.Take(raised).OfType<History.OrchestratorStartedEvent>().Last().Timestamp;
        return (turn - submitted).TotalSeconds;
    }
}

/// <summary>The benchmark's job that trains nothing: one empty ModelRun.</summary>
public sealed class BenchNoOpComponent : Component
{
    /// <inheritdoc/>
    public override ComponentSpec Spec { get; } = new()
    {
        Type = "BenchNoOp",
        Version = "1",
        Outputs = [new ChannelSpec("model_run", ArtifactTypes.ModelRun)],
    };

    /// <inheritdoc/>
    public override IComponentExecutor CreateExecutor() => new Executor();

    private sealed class Executor : IComponentExecutor
    {
        public Task ExecuteAsync(IReadOnlyDictionary<string, InputArtifact> inputs, IReadOnlyDictionary<string, OutputArtifact> outputs, ComponentParameters parameters, ExecutorContext context, CancellationToken cancellation = default) =>
            outputs["model_run"].WriteTextAsync("training.json", "{}", cancellation);
    }
}

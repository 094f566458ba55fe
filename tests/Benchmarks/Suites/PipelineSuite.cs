using System.Diagnostics;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Hosting;
using Serverless.Hosting.Configuration;
using Serverless.Metadata;
using Serverless.Ml.Components;
using Serverless.Pipelines;
using Serverless.Pipelines.Orchestration;
using Serverless.Storage;

namespace Benchmarks.Suites;

/// <summary>
/// The pipeline layer on the embedded default (SQLite engine, SQLite metadata, local-directory blobs):
/// the sample data pipeline (samples/penguins_data.yaml: CsvExampleGen -> StatisticsGen -> SchemaGen ->
/// ExampleValidator, the real ML components) cold and then fully cached (a second identical run, every node
/// CACHED), and the per-node overhead of the pipeline layer (orchestration, activity dispatch, cache lookup,
/// metadata, publishing) over calling an executor directly, measured on a sequential chain of trivial nodes.
/// Runs are timed from start to the completed status, polled every millisecond (the client's own wait backs off
/// to 200 ms, too coarse for runs this short).
/// </summary>
public sealed class PipelineSuite : IBenchmarkSuite
{
    /// <inheritdoc/>
    public string Name => "pipeline";

    /// <inheritdoc/>
    public async Task RunAsync(BenchmarkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        // Default: the sample that trains a model (data components, Transform, Tuner, Trainer), so "cold" is real work.
        var sampleName = context.Options.Get("sample", "penguins_train.yaml");
        var sample = FindSample(sampleName);
        var repeats = context.Options.Quick ? 1 : 3;
        var chain = context.Options.Quick ? 10 : 30;
        var cold = new List<double>();
        var cached = new List<double>();
        var nodes = 0;
        for (var i = 0; i < repeats; i++)
        {
            await using var env = await Env.StartAsync();
            var pipeline = PipelineLoader.LoadFile(sample).DefinitionOrThrow();
            nodes = pipeline.Nodes.Count;
            cold.Add((await env.RunAsync(pipeline, $"cold{i}", expect: NodeState.Complete)).Seconds);
            cached.Add((await env.RunAsync(pipeline, $"cached{i}", expect: NodeState.Cached)).Seconds);
        }

        var coldS = cold.Min();
        var cachedS = cached.Min();
        context.Report("pipeline_cold_s", coldS, "s", new Dictionary<string, object>
        {
            ["pipeline"] = Path.GetFileNameWithoutExtension(sampleName),
            ["nodes"] = nodes,
            ["runs"] = string.Join(",", cold.Select(c => Math.Round(c, 3))),
            ["note"] = "best of fresh stores in one process; the first run also pays JIT of the components",
        });
        context.Report("pipeline_cached_s", cachedS, "s", new Dictionary<string, object>
        {
            ["ratio_to_cold"] = Math.Round(cachedS / coldS, 4),
            ["runs"] = string.Join(",", cached.Select(c => Math.Round(c, 4))),
        });

        // Overhead per node: a chain of N no-op nodes through the pipeline layer vs N direct executor calls.
        double pipelineS;
        await using (var env = await Env.StartAsync())
        {
            var chainNodes = Enumerable.Range(0, chain).Select(i => new NodeDefinition
            {
                Id = $"n{i}",
                Component = "Noop",
                Inputs = i == 0 ? new Dictionary<string, ChannelRef>() : new Dictionary<string, ChannelRef> { ["examples"] = new($"n{i - 1}", "examples") },
                EnableCache = false,
            }).ToList();
            var def = new PipelineDefinition { Name = "chain", Nodes = chainNodes };
            await env.RunAsync(def with { Name = "warmup", Nodes = chainNodes.Take(3).ToList() }, "warm", NodeState.Complete);
            pipelineS = (await env.RunAsync(def, "chain", NodeState.Complete)).Seconds;
        }

        var directS = await DirectAsync(chain);
        context.Report("pipeline_overhead_ms_per_node", (pipelineS - directS) * 1000 / chain, "ms", new Dictionary<string, object>
        {
            ["nodes"] = chain,
            ["pipeline_s"] = Math.Round(pipelineS, 4),
            ["direct_s"] = Math.Round(directS, 4),
        });

        // Validation is linear in nodes and edges and never recurses (issue 18: the old cycle check took 64 s at 10,000).
        const int ValidateNodes = 10_000;
        var registry = new ComponentRegistry().Register(new NoopComponent());
        foreach (var cyclic in new[] { false, true })
        {
            var graphNodes = Enumerable.Range(0, ValidateNodes).Select(i => new NodeDefinition
            {
                Id = $"n{i}",
                Component = "Noop",
                Inputs = i == 0 && !cyclic ? new Dictionary<string, ChannelRef>() : new Dictionary<string, ChannelRef> { ["examples"] = new($"n{(i + ValidateNodes - 1) % ValidateNodes}", "examples") },
            }).ToList();
            var validation = new PipelineValidationOptions { CheckPaths = false, Limits = PipelineLimits.Default with { MaxNodes = ValidateNodes } };
            var sw = Stopwatch.StartNew();
            var result = PipelineValidator.Validate(new PipelineDefinition { Name = "v", Nodes = graphNodes }, registry, validation);
            context.Report(cyclic ? "pipeline_validate_cycle_ms" : "pipeline_validate_chain_ms", sw.Elapsed.TotalMilliseconds, "ms", new Dictionary<string, object>
            {
                ["nodes"] = ValidateNodes,
                ["valid"] = result.IsValid,
                ["errors"] = result.Errors.Count,
            });
        }
    }

    private static async Task<double> DirectAsync(int count)
    {
        var root = Directory.CreateTempSubdirectory("bench-direct-").FullName;
        try
        {
            var blobs = new LocalDirectoryBlobStore(root);
            var component = new NoopComponent();
            var context = new ExecutorContext { PipelineName = "chain", RunId = "direct", NodeId = "n", ExecutionId = "x", BlobStore = blobs, Time = TimeProvider.System, PathFingerprints = new Dictionary<string, string>() };
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                var outputs = new Dictionary<string, OutputArtifact> { ["examples"] = new("examples", ArtifactTypes.Examples, $"chain/n{i}/examples/x", $"_staging/chain/n{i}/examples/x/1", blobs) };
                await component.CreateExecutor().ExecuteAsync(new Dictionary<string, InputArtifact>(), outputs, new ComponentParameters(new Dictionary<string, MetadataValue>()), context);
            }

            return sw.Elapsed.TotalSeconds;
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    private static string FindSample(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "samples", file);
            if (File.Exists(candidate)) return candidate;
        }

        throw new FileNotFoundException($"samples/{file} not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A no-op component: writes one tiny file.</summary>
    private sealed class NoopComponent : Component
    {
        public override ComponentSpec Spec { get; } = new()
        {
            Type = "Noop",
            Version = "1",
            Inputs = [new ChannelSpec("examples", ArtifactTypes.Examples, Optional: true)],
            Outputs = [new ChannelSpec("examples", ArtifactTypes.Examples)],
        };

        public override IComponentExecutor CreateExecutor() => new Executor();

        private sealed class Executor : IComponentExecutor
        {
            public Task ExecuteAsync(IReadOnlyDictionary<string, InputArtifact> inputs, IReadOnlyDictionary<string, OutputArtifact> outputs, ComponentParameters parameters, ExecutorContext context, CancellationToken cancellation = default) =>
                outputs["examples"].WriteTextAsync("data.txt", "x", cancellation);
        }
    }

    private sealed class Env : IAsyncDisposable
    {
        private readonly string root;
        private readonly SqliteMetadataStore metadata;
        private readonly IHost host;
        private readonly DurableTaskClient client;
        private readonly PipelineRunStarter starter;

        private Env(string root, SqliteMetadataStore metadata, IHost host, DurableTaskClient client, PipelineRunStarter starter)
        {
            (this.root, this.metadata, this.host, this.client, this.starter) = (root, metadata, host, client, starter);
        }

        public static async Task<Env> StartAsync()
        {
            var root = Directory.CreateTempSubdirectory("bench-pipeline-").FullName;
            var metadata = SqliteMetadataStore.Open(Path.Combine(root, "metadata.db"));
            var components = MlComponents.Register(ComponentRegistry.CreateWithBuiltIns(), metadata).Register(new NoopComponent());
            var runner = new NodeRunner(components, metadata, new LocalDirectoryBlobStore(Path.Combine(root, "blobs")));
            // The real runtime, as the CLI runs it: DTFx with the SQLite provider (its defaults), one worker process.
            var database = Path.Combine(root, "durable.db");
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddDurableTaskHosting(o =>
            {
                o.Settings = HostJsonReader.Parse("""{ "extensions": { "durableTask": { "hubName": "Bench", "storageProvider": { "type": "sqlite" } } } }""", "(bench)", root);
                o.HomeDirectory = root;
                o.ReadAppSetting = name => name == "DurableStorage" ? database : null;
            }).AddTasks(r => r.AddPipelineOrchestration(() => components));
            builder.Services.AddSingleton(components).AddSingleton(runner);
            var host = builder.Build();
            await host.StartAsync();
            var client = host.Services.GetRequiredService<DurableTaskClient>();
            return new Env(root, metadata, host, client, new PipelineRunStarter(client, components));
        }

        public async Task<(double Seconds, PipelineRunStatus Status)> RunAsync(PipelineDefinition pipeline, string runId, NodeState expect)
        {
            var sw = Stopwatch.StartNew();
            await starter.StartAsync(starter.Prepare(pipeline, runId));
            OrchestrationMetadata done;
            while (true)
            {
                done = await client.GetInstanceAsync(runId, getInputsAndOutputs: true) ?? throw new InvalidOperationException($"run {runId} vanished");
                if (done.IsCompleted) break;
                await Task.Delay(1);
            }

            var elapsed = sw.Elapsed.TotalSeconds;
            if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed) throw new InvalidOperationException($"run {runId}: {done.FailureDetails}");
            var status = done.ReadOutputAs<PipelineRunStatus>()!;
            var unexpected = status.Nodes.Where(n => n.State != expect).Select(n => $"{n.Node}={n.State}").ToList();
            if (unexpected.Count > 0) throw new InvalidOperationException($"run {runId}: expected every node {expect}, got {string.Join(", ", unexpected)}");
            return (elapsed, status);
        }

        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            host.Dispose();
            metadata.Dispose();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, true);
        }
    }
}

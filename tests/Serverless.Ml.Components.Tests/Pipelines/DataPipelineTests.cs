using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Metadata;
using Serverless.Ml.Components.ExampleValidator;
using Serverless.Ml.Data.Statistics;
using Serverless.Ml.Data.Validation;
using Serverless.Pipelines;
using Serverless.Pipelines.Orchestration;
using Serverless.Pipelines.Tests;
using Serverless.Storage;

namespace Serverless.Ml.Components.Tests.Pipelines;

/// <summary>
/// Whole pipelines (ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator) through the durable pipeline
/// orchestrator on the real Durable Task runtime (DTFx, SQLite provider), SQLite metadata and a local-directory blob store: what the CLI's run does.
/// </summary>
public sealed class DataPipelineTests : IAsyncLifetime
{
    private readonly TempFolder temp = new();
    private SqliteMetadataStore metadata = null!;
    private ComponentRegistry registry = null!;
    private DurableTestHost host = null!;
    private DurableTaskClient client = null!;
    private PipelineRunStarter starter = null!;
    private string blobRoot = null!;

    public async Task InitializeAsync()
    {
        metadata = SqliteMetadataStore.Open(Path.Combine(temp.Path, "metadata.db"));
        registry = MlComponents.Register(ComponentRegistry.CreateWithBuiltIns(), metadata);
        blobRoot = Path.Combine(temp.Path, "blobs");
        var runner = new NodeRunner(registry, metadata, new LocalDirectoryBlobStore(blobRoot));
        host = await DurableTestHost.StartAsync(temp.Path, s => s.AddSingleton(registry).AddSingleton(runner), r => r.AddPipelineOrchestration(() => registry));
        client = host.Client;
        starter = new PipelineRunStarter(client, registry);
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        metadata.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        temp.Dispose();
    }

    private async Task<PipelineRunStatus> RunAsync(PipelineDefinition pipeline, string runId)
    {
        await starter.StartAsync(starter.Prepare(pipeline, runId));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var done = await client.WaitForInstanceCompletionAsync(runId, true, cts.Token);
        Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed, done.FailureDetails?.ToString());
        return done.ReadOutputAs<PipelineRunStatus>()!;
    }

    private string ArtifactFile(PipelineRunStatus status, string node, string output, string path) =>
        Path.Combine(blobRoot, status.Nodes.Single(n => n.Node == node).Artifacts[output], path);

    [Fact]
    public async Task Run_PenguinsSamplePipeline_AllFourComponentsCompleteWithoutAnomalies()
    {
        // The sample file itself, loaded as the CLI loads it, pointed at the shared penguins data.
        var sample = Path.Combine(TestData.RepositoryRoot(), "samples", "penguins_data.yaml");
        var loaded = PipelineLoader.LoadAndValidate(sample, registry);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        var pipeline = loaded.Graph!.Definition with
        {
            Nodes = loaded.Graph.Definition.Nodes.Select(n => n.Id == "example_gen"
                ? n with { Parameters = new Dictionary<string, MetadataValue>(n.Parameters) { ["input_base"] = TestData.DatasetsFolder } }
                : n).ToList(),
        };

        var status = await RunAsync(pipeline, "penguins-run1");
        Assert.Equal(PipelineRunState.Succeeded, status.State);
        Assert.Equal(["example_gen", "statistics_gen", "schema_gen", "example_validator"], status.Nodes.Select(n => n.Node));
        var train = DatasetFeatureStatisticsList.Load(ArtifactFile(status, "statistics_gen", "statistics", "Split-train/FeatureStats.json")).Datasets.Single();
        var eval = DatasetFeatureStatisticsList.Load(ArtifactFile(status, "statistics_gen", "statistics", "Split-eval/FeatureStats.json")).Datasets.Single();
        Assert.Equal(344, train.NumExamples + eval.NumExamples);
        Assert.True(File.Exists(ArtifactFile(status, "statistics_gen", "statistics", "report.html")));
        Assert.True(File.Exists(ArtifactFile(status, "schema_gen", "schema", "schema.json")));
        foreach (var split in new[] { "train", "eval" })
        {
            var anomalies = Anomalies.FromJson(File.ReadAllText(ArtifactFile(status, "example_validator", "anomalies", ExampleValidatorExecutor.AnomaliesPath(split))));
            Assert.Empty(anomalies.Items);
        }

        var recorded = await metadata.GetArtifactsByTypeAsync(ArtifactTypes.Examples);
        Assert.Equal("[\"train\",\"eval\"]", Assert.Single(recorded).CustomProperties[MlProperties.SplitNames].StringValue);
    }

    [Fact]
    public async Task Run_FashionMnistTestImages_AllFourComponentsComplete()
    {
        var pipeline = new PipelineDefinition
        {
            Name = "fashion",
            Nodes =
            [
                Nodes.Node("example_gen", "ImageExampleGen", new()
                {
                    ["input_base"] = TestData.FashionMnist,
                    ["input_pattern"] = "t10k-images-idx3-ubyte.gz",
                    ["labels_pattern"] = "t10k-labels-idx1-ubyte.gz",
                    ["scale"] = 255.0,
                    ["compression"] = "none",
                }),
                Nodes.Stats("statistics_gen", "example_gen"),
                Nodes.Schema("schema_gen", "statistics_gen"),
                Nodes.Validate("example_validator", "statistics_gen", "schema_gen", new() { ["fail_on_anomalies"] = true }),
            ],
        };
        var status = await RunAsync(pipeline, "fashion-run1");
        Assert.Equal(PipelineRunState.Succeeded, status.State);
        var train = DatasetFeatureStatisticsList.Load(ArtifactFile(status, "statistics_gen", "statistics", "Split-train/FeatureStats.json")).Datasets.Single();
        var eval = DatasetFeatureStatisticsList.Load(ArtifactFile(status, "statistics_gen", "statistics", "Split-eval/FeatureStats.json")).Datasets.Single();
        Assert.Equal(10_000, train.NumExamples + eval.NumExamples);
        var image = train.Find("image")!;
        Assert.Equal(784, image.Common.MinNumValues);
        Assert.InRange(image.NumStats!.Max, 0.99, 1.0);
        Assert.Equal(0, image.NumStats.Min);
        var schema = Data.Schemas.DatasetSchema.Load(ArtifactFile(status, "schema_gen", "schema", "schema.json"));
        Assert.Equal([28, 28], schema.Find("image")!.Shape!);
    }
}

using System.Runtime.CompilerServices;
using Serverless.Metadata;
using Serverless.Pipelines;
using Serverless.Storage;

namespace Serverless.Ml.Components.Tests;

/// <summary>Where the test data lives: the repository's own <c>samples/data</c> folder.</summary>
internal static class TestData
{
    public static string DatasetsFolder { get; } = Find();

    public static string Penguins => Path.Combine(DatasetsFolder, "penguins.csv");

    /// <summary>Debian's dataset-fashion-mnist; the tests fail (not skip) with the install command when it is missing.</summary>
    public static string FashionMnist
    {
        get
        {
            const string folder = "/usr/share/datasets/fashion-mnist";
            Assert.True(File.Exists(Path.Combine(folder, "t10k-images-idx3-ubyte.gz")), "Fashion-MNIST is missing: apt-get install -y dataset-fashion-mnist (./build.sh test installs it)");
            return folder;
        }
    }

    /// <summary>The repository root (the folder holding Serverless.sln).</summary>
    public static string RepositoryRoot([CallerFilePath] string self = "")
    {
        var dir = new DirectoryInfo(Path.GetDirectoryName(self)!);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new DirectoryNotFoundException("Serverless.sln not found above the test sources");
    }

    private static string Find()
    {
        var folder = Path.Combine(RepositoryRoot(), "samples", "data");
        return File.Exists(Path.Combine(folder, "penguins.csv"))
            ? folder
            : throw new DirectoryNotFoundException($"{folder}/penguins.csv is missing from the repository");
    }
}

internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ml-components-tests-" + Guid.NewGuid().ToString("N"));

    public TempFolder() => Directory.CreateDirectory(Path);

    public string Write(string relative, string content)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public string Combine(string relative) => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// Runs pipeline nodes through the real <see cref="NodeRunner"/> (SQLite metadata, local-directory blob store) in
/// topological order, for executor-level tests; end-to-end tests use the durable orchestrator instead.
/// </summary>
internal sealed class NodeHarness : IDisposable
{
    private readonly TempFolder temp = new();
    private int runs;

    public NodeHarness()
    {
        Metadata = SqliteMetadataStore.Open(System.IO.Path.Combine(temp.Path, "metadata.db"));
        BlobRoot = System.IO.Path.Combine(temp.Path, "blobs");
        Blobs = new LocalDirectoryBlobStore(BlobRoot);
        Registry = MlComponents.Register(ComponentRegistry.CreateWithBuiltIns(), Metadata);
        Runner = new NodeRunner(Registry, Metadata, Blobs);
    }

    public TempFolder Temp => temp;

    public SqliteMetadataStore Metadata { get; }

    public string BlobRoot { get; }

    public LocalDirectoryBlobStore Blobs { get; }

    public ComponentRegistry Registry { get; }

    public NodeRunner Runner { get; }

    /// <summary>Runs every node; stops at the first failure. Returns results by node id.</summary>
    public async Task<Dictionary<string, NodeRunResult>> RunAsync(string pipeline, params NodeDefinition[] nodes)
    {
        var graph = PipelineValidator.Validate(new PipelineDefinition { Name = pipeline, Nodes = nodes }, Registry, checkPaths: true).GraphOrThrow();
        var runId = $"run{Interlocked.Increment(ref runs)}";
        var results = new Dictionary<string, NodeRunResult>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            var result = await Runner.RunAsync(NodeRunRequest.ForNode(graph, node.Id, runId, $"{runId}-{node.Id}", results));
            results[node.Id] = result;
            if (!result.Succeeded)
            {
                break;
            }
        }

        return results;
    }

    /// <summary>A file of a published artifact, on disk.</summary>
    public string FileOf(ArtifactRef artifact, string path) => System.IO.Path.Combine(BlobRoot, artifact.Uri, path);

    public string ReadText(ArtifactRef artifact, string path) => File.ReadAllText(FileOf(artifact, path));

    public void Dispose()
    {
        Metadata.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        temp.Dispose();
    }
}

/// <summary>Node definitions for the ML components.</summary>
internal static class Nodes
{
    public static NodeDefinition Node(string id, string component, Dictionary<string, MetadataValue>? parameters = null, params (string Input, string From)[] inputs) => new()
    {
        Id = id,
        Component = component,
        Parameters = parameters ?? new Dictionary<string, MetadataValue>(),
        Inputs = inputs.ToDictionary(i => i.Input, i => ChannelRef.TryParse(i.From, out var r) ? r : throw new ArgumentException(i.From)),
    };

    public static NodeDefinition CsvGen(string id, string inputBase, string pattern = "*.csv", Dictionary<string, MetadataValue>? more = null)
    {
        var p = new Dictionary<string, MetadataValue> { ["input_base"] = inputBase, ["input_pattern"] = pattern, ["compression"] = "none" };
        foreach (var (k, v) in more ?? []) p[k] = v;
        return Node(id, "CsvExampleGen", p);
    }

    public static NodeDefinition Stats(string id, string examples, Dictionary<string, MetadataValue>? p = null) =>
        Node(id, "StatisticsGen", p, ("examples", $"{examples}.examples"));

    public static NodeDefinition Schema(string id, string statistics, Dictionary<string, MetadataValue>? p = null) =>
        Node(id, "SchemaGen", p, ("statistics", $"{statistics}.statistics"));

    public static NodeDefinition Validate(string id, string statistics, string schema, Dictionary<string, MetadataValue>? p = null, params (string Input, string From)[] more) =>
        Node(id, "ExampleValidator", p, [("statistics", $"{statistics}.statistics"), ("schema", $"{schema}.schema"), .. more]);
}

using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Serverless.Metadata;
using Serverless.Ml.Data;
using Serverless.Ml.Data.Columnar;
using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Graph;
using Serverless.Pipelines;
using Serverless.Storage;

namespace Serverless.Ml.Shipping.Tests;

internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ml-shipping-tests-" + Guid.NewGuid().ToString("N"));

    public TempFolder() => Directory.CreateDirectory(Path);

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

internal static class Paths
{
    /// <summary>The model server next to the test assembly (the test project references the app).</summary>
    public static string ModelServer => System.IO.Path.Combine(AppContext.BaseDirectory, "Serverless.ModelServer.dll");

    public static string RepositoryRoot([CallerFilePath] string self = "")
    {
        var dir = new DirectoryInfo(System.IO.Path.GetDirectoryName(self)!);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Serverless.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new DirectoryNotFoundException("Serverless.sln not found above the test sources");
    }
}

/// <summary>Builds artifacts in a real local-directory blob store and runs executors against them, as the node runner would.</summary>
internal sealed class ArtifactBench : IDisposable
{
    private long nextId = 100;

    public ArtifactBench() => Blobs = new LocalDirectoryBlobStore(Temp.Combine("blobs"));

    public TempFolder Temp { get; } = new();

    public LocalDirectoryBlobStore Blobs { get; }

    public async Task<InputArtifact> PublishAsync(string channel, string type, string uri, IReadOnlyDictionary<string, byte[]> files, IReadOnlyDictionary<string, MetadataValue>? properties = null)
    {
        var list = new List<ArtifactFile>();
        foreach (var (path, bytes) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            using var stream = new MemoryStream(bytes);
            await Blobs.UploadAsync($"{uri}/{path}", stream);
            list.Add(new ArtifactFile(path, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes))));
        }

        await Blobs.UploadAsync($"{uri}/{ArtifactLayout.MarkerName}", new MemoryStream("{}"u8.ToArray()));
        return new InputArtifact(channel, new ArtifactRef(Interlocked.Increment(ref nextId), type, uri, "sha256:test", properties ?? new Dictionary<string, MetadataValue>()), list, Blobs);
    }

    public Task<InputArtifact> ModelAsync(byte[] onnx, string uri = "p/trainer/model/e1", string channel = "model") =>
        PublishAsync(channel, ArtifactTypes.Model, uri, new Dictionary<string, byte[]> { ["model.onnx"] = onnx });

    /// <summary>An Examples artifact with one columnar shard in Split-eval.</summary>
    public async Task<InputArtifact> ExamplesAsync(RecordBatch batch, string uri = "p/example_gen/examples/e1")
    {
        var local = Temp.Combine($"shard-{Guid.NewGuid():N}.smlc");
        using (var writer = new ColumnarWriter(local, batch.Schema))
        {
            writer.Write(batch);
        }

        return await PublishAsync("examples", ArtifactTypes.Examples, uri, new Dictionary<string, byte[]> { ["Split-eval/data_columnar-00000-of-00001.smlc"] = File.ReadAllBytes(local) });
    }

    /// <summary>Runs an executor with the spec's defaults plus <paramref name="parameters"/>; returns the outputs (files under their staging prefix).</summary>
    public async Task<IReadOnlyDictionary<string, OutputArtifact>> RunAsync(
        IComponentExecutor executor, ComponentSpec spec, IReadOnlyDictionary<string, InputArtifact> inputs, IReadOnlyDictionary<string, MetadataValue> parameters, string pipeline = "p")
    {
        var (values, errors) = spec.ResolveParameters(parameters);
        Assert.Empty(errors);
        var execution = $"x{Interlocked.Increment(ref nextId)}";
        var outputs = spec.Outputs.ToDictionary(
            o => o.Name,
            o => new OutputArtifact(o.Name, o.ArtifactType, ArtifactLayout.FinalPrefix(pipeline, "node", o.Name, execution), ArtifactLayout.StagingPrefix(pipeline, "node", o.Name, execution, "1"), Blobs));
        var context = new ExecutorContext { PipelineName = pipeline, RunId = "run", NodeId = "node", ExecutionId = execution, BlobStore = Blobs };
        await executor.ExecuteAsync(inputs, outputs, new ComponentParameters(values), context);
        return outputs;
    }

    public async Task<string> ReadTextAsync(OutputArtifact output, string path)
    {
        await using var stream = await Blobs.OpenReadAsync($"{output.StagingPrefix}/{path}");
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    public async Task<bool> ExistsAsync(OutputArtifact output, string path) => await Blobs.GetPropertiesAsync($"{output.StagingPrefix}/{path}") is not null;

    public void Dispose() => Temp.Dispose();
}

/// <summary>Small ONNX models with known behaviour.</summary>
internal static class TestModels
{
    /// <summary>
    /// Input <c>x</c> (double [batch,1]); output <c>probabilities</c> = softmax([-x, x]) over classes neg/pos, i.e.
    /// P(pos) = sigmoid(2x). <paramref name="declaredWidth"/> other than 2 declares a wrong output shape.
    /// </summary>
    public static byte[] Sign(int declaredWidth = 2, string input = "x")
    {
        var g = new OnnxGraphBuilder("sign");
        var x = g.Cast(g.Input(input, OnnxElementType.Double, OnnxDim.Batch, 1), OnnxElementType.Float);
        var probabilities = g.Softmax(g.Concat(1, g.Neg(x), x));
        if (declaredWidth != 2)
        {
            // Expand by a shape ONNX Runtime cannot see statically (a cast constant), so the declared width stays in the
            // signature while the real output keeps 2 values per row.
            probabilities = g.Node("Expand", [probabilities, g.Cast(g.Constant(1f, 1f), OnnxElementType.Int64)], OnnxElementType.Float);
        }

        g.Output(probabilities, "probabilities", OnnxDim.Batch, declaredWidth);
        g.SetMetadata(ModelClassLabels.MetadataKey, "[\"neg\",\"pos\"]");
        return g.ToBytes();
    }

    /// <summary>P(pos) for <see cref="Sign"/>, computed independently.</summary>
    public static double PositiveProbability(double x) => 1 / (1 + Math.Exp(-2 * x));

    /// <summary>A batch with x, label y (neg/pos) and a slice feature g.</summary>
    public static RecordBatch Batch(double[] x, string[] y, string[] g)
    {
        var schema = new TableSchema([new ColumnSpec("x", ColumnKind.Float64), new ColumnSpec("y", ColumnKind.String), new ColumnSpec("g", ColumnKind.String)]);
        var n = x.Length;
        return new RecordBatch(
            schema,
            [
                new Float64Column(schema.Columns[0], x, new bool[n], n),
                StringColumn.FromValues(schema.Columns[1], y),
                StringColumn.FromValues(schema.Columns[2], g),
            ],
            n);
    }
}

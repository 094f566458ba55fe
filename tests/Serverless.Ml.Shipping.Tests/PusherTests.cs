using Serverless.Metadata;
using Serverless.Ml.Components;
using Serverless.Ml.Components.Evaluator;
using Serverless.Ml.Components.Pusher;
using Serverless.Pipelines;
using Serverless.Serving;
using Serverless.Storage;

namespace Serverless.Ml.Shipping.Tests;

public sealed class PusherTests
{
    private static async Task<IReadOnlyDictionary<string, OutputArtifact>> PushAsync(ArtifactBench bench, string destination, byte[] model, bool blessed, bool infraBlessed, int keep = 5)
    {
        const string modelUri = "p/trainer/model/e1";
        Dictionary<string, MetadataValue> Blessing(bool b) => new()
        {
            [ShippingProperties.Blessed] = MetadataValue.FromInt(b ? 1 : 0),
            [ShippingProperties.CurrentModel] = MetadataValue.FromString(modelUri),
        };
        var inputs = new Dictionary<string, InputArtifact>
        {
            ["model"] = await bench.ModelAsync(model, modelUri),
            ["model_blessing"] = await bench.PublishAsync("model_blessing", ArtifactTypes.ModelBlessing, $"p/evaluator/blessing/{Guid.NewGuid():N}", new Dictionary<string, byte[]>(), Blessing(blessed)),
            ["infra_blessing"] = await bench.PublishAsync("infra_blessing", ArtifactTypes.InfraBlessing, $"p/iv/blessing/{Guid.NewGuid():N}", new Dictionary<string, byte[]>(), Blessing(infraBlessed)),
        };
        var parameters = new Dictionary<string, MetadataValue>
        {
            ["push_destination"] = MetadataValue.FromString(destination),
            ["model_name"] = MetadataValue.FromString("m"),
            ["keep_versions"] = MetadataValue.FromInt(keep),
        };
        return await bench.RunAsync(new PusherExecutor(), PusherComponent.Declaration, inputs, parameters);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(false, false)]
    public async Task ExecuteAsync_MissingABlessing_NotPushed(bool blessed, bool infraBlessed)
    {
        using var bench = new ArtifactBench();
        var destination = bench.Temp.Combine("serving");

        var pushed = (await PushAsync(bench, destination, TestModels.Sign(), blessed, infraBlessed))["pushed_model"];

        Assert.Equal(0, pushed.Properties[ShippingProperties.Pushed].IntValue);
        Assert.Contains("is not blessed", pushed.Properties["reason"].StringValue, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(destination, "m")));
    }

    [Fact]
    public async Task ExecuteAsync_BothBlessings_PushesNewVersionsAndPrunes()
    {
        using var bench = new ArtifactBench();
        var destination = bench.Temp.Combine("serving");
        var versions = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            var model = TestModels.Sign(input: $"x{i}"); // distinct bytes each time
            var pushed = (await PushAsync(bench, destination, model, true, true, keep: 2))["pushed_model"];
            Assert.Equal(1, pushed.Properties[ShippingProperties.Pushed].IntValue);
            versions.Add(pushed.Properties[ShippingProperties.PushedVersion].IntValue);
        }

        Assert.Equal([1L, 2, 3, 4], versions);
        var repository = new ModelRepository(new LocalDirectoryBlobStore(destination));
        Assert.Equal([3L, 4], (await repository.ListVersionsAsync("m")).Where(v => v.Ready).Select(v => v.Version));
        Assert.Equal(TestModels.Sign(input: "x3"), await repository.ReadModelAsync("m", 4));
    }

    [Fact]
    public async Task ExecuteAsync_SameModelPushedTwice_ReusesTheVersion()
    {
        using var bench = new ArtifactBench();
        var destination = bench.Temp.Combine("serving");
        await PushAsync(bench, destination, TestModels.Sign(), true, true);

        var again = (await PushAsync(bench, destination, TestModels.Sign(), true, true))["pushed_model"];

        Assert.Equal(1, again.Properties[ShippingProperties.PushedVersion].IntValue);
    }

    [Fact]
    public async Task PushAsync_Always_WritesModelFileBeforeMarker()
    {
        using var temp = new TempFolder();
        var recording = new RecordingBlobStore(new LocalDirectoryBlobStore(temp.Path));

        var (version, _) = await PusherExecutor.PushAsync(new ModelRepository(recording), "m", TestModels.Sign(), keep: 3);

        Assert.Equal(1, version);
        Assert.Equal(["m/1/model.onnx", "m/1/_READY"], recording.Uploads);
    }

    private sealed class RecordingBlobStore(IBlobStore inner) : IBlobStore
    {
        public List<string> Uploads { get; } = [];

        public string Description => inner.Description;

        public Task<BlobItemProperties> UploadAsync(string name, Stream content, BlobUploadOptions? options = null, CancellationToken cancellation = default)
        {
            Uploads.Add(name);
            return inner.UploadAsync(name, content, options, cancellation);
        }

        public Task<Stream> OpenReadAsync(string name, CancellationToken cancellation = default) => inner.OpenReadAsync(name, cancellation);

        public Task<BlobItemProperties?> GetPropertiesAsync(string name, CancellationToken cancellation = default) => inner.GetPropertiesAsync(name, cancellation);

        public IAsyncEnumerable<BlobItemProperties> ListAsync(string prefix, CancellationToken cancellation = default) => inner.ListAsync(prefix, cancellation);

        public Task<bool> DeleteAsync(string name, CancellationToken cancellation = default) => inner.DeleteAsync(name, cancellation);
    }
}

using Serverless.Metadata;
using Serverless.Ml.Components;
using Serverless.Ml.Components.Evaluator;
using Serverless.Ml.Components.InfraValidator;
using Serverless.Pipelines;

namespace Serverless.Ml.Shipping.Tests;

public sealed class InfraValidatorTests
{
    private static async Task<(ArtifactBench Bench, IReadOnlyDictionary<string, OutputArtifact> Outputs)> RunAsync(byte[] model, double loadLimit = 60)
    {
        var bench = new ArtifactBench();
        var inputs = new Dictionary<string, InputArtifact>
        {
            ["model"] = await bench.ModelAsync(model),
            ["examples"] = await bench.ExamplesAsync(TestModels.Batch([1, -1, 2], ["pos", "neg", "pos"], ["a", "a", "b"])),
        };
        var parameters = new Dictionary<string, MetadataValue>
        {
            ["num_examples"] = MetadataValue.FromInt(3),
            ["max_loading_time_seconds"] = MetadataValue.FromDouble(loadLimit),
        };
        var outputs = await bench.RunAsync(new InfraValidatorExecutor(new ShippingOptions { ModelServerPath = Paths.ModelServer }), InfraValidatorComponent.Declaration, inputs, parameters);
        return (bench, outputs);
    }

    [Fact]
    public async Task ExecuteAsync_GoodModel_InfraBlessedAfterCanaries()
    {
        var (bench, outputs) = await RunAsync(TestModels.Sign());
        using (bench)
        {
            var blessing = outputs["blessing"];
            Assert.True(blessing.Properties[ShippingProperties.Blessed].IntValue == 1, blessing.Properties["problems"].StringValue);
            Assert.Equal(3, blessing.Properties["canary_requests"].IntValue);
            Assert.True(await bench.ExistsAsync(blessing, "INFRA_BLESSED"));
        }
    }

    [Fact]
    public async Task ExecuteAsync_CorruptModel_NotBlessedWithLoadError()
    {
        var (bench, outputs) = await RunAsync("this is not an onnx model"u8.ToArray());
        using (bench)
        {
            var blessing = outputs["blessing"];
            Assert.Equal(0, blessing.Properties[ShippingProperties.Blessed].IntValue);
            Assert.Contains("failed to load", blessing.Properties["problems"].StringValue, StringComparison.Ordinal);
            Assert.Equal(0, blessing.Properties["canary_requests"].IntValue);
        }
    }

    [Fact]
    public async Task ExecuteAsync_OutputsMismatchSignature_NotBlessed()
    {
        var (bench, outputs) = await RunAsync(TestModels.Sign(declaredWidth: 3));
        using (bench)
        {
            var problems = outputs["blessing"].Properties["problems"].StringValue;
            Assert.Equal(0, outputs["blessing"].Properties[ShippingProperties.Blessed].IntValue);
            Assert.Contains("output 'probabilities' has 2 values per row but the signature declares 3", problems, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ExecuteAsync_ModelNeedsMissingFeature_CanaryFails()
    {
        var (bench, outputs) = await RunAsync(TestModels.Sign(input: "not_a_column"));
        using (bench)
        {
            var problems = outputs["blessing"].Properties["problems"].StringValue;
            Assert.Equal(0, outputs["blessing"].Properties[ShippingProperties.Blessed].IntValue);
            Assert.Contains("HTTP 400", problems, StringComparison.Ordinal);
        }
    }
}

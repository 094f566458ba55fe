using System.Text.Json;
using Serverless.Ml.Components.Transform;
using Serverless.Ml.Data.Csv;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Onnx.Testing;
using Serverless.Ml.Transform;

namespace Serverless.Ml.Components.Tests.Learning;

public sealed class TransformExecutorTests : IDisposable
{
    private readonly NodeHarness harness = new();

    public void Dispose() => harness.Dispose();

    [Fact]
    public async Task Execute_PenguinsSpec_WritesGraphThatMatchesInProcessAndEverySplit()
    {
        var results = await harness.RunAsync("p", [.. LearningNodes.Data(), LearningNodes.Transform()]);
        var transform = results["transform"];
        Assert.True(transform.Succeeded, transform.Error);
        var graph = transform.Outputs["transform_graph"];
        var fitted = FittedTransform.Load(harness.FileOf(graph, string.Empty));
        Assert.Equal(4 + 4 + 3, fitted.Width); // 4 z-scores, island 3 + OOV, sex 2 + OOV
        Assert.Equal(["Adelie", "Gentoo", "Chinstrap"], JsonSerializer.Deserialize<string[]>(graph.Properties["label_classes"].StringValue!)!);
        var examples = transform.Outputs["transformed_examples"];
        Assert.Equal(344, examples.Properties["row_count"].IntValue);
        Assert.Equal(examples.Properties["row_count_train"].IntValue, results["gen"].Outputs["examples"].Properties["row_count_train"].IntValue);
        Assert.True(File.Exists(harness.FileOf(examples, TransformExecutor.TransformedPath("eval", 0, 1))));

        // The published ONNX graph on raw penguins equals the fitted transform in process (training/serving skew).
        var batch = CsvReader.Open(TestData.Penguins).ReadBatches().First();
        var expected = fitted.Apply(batch);
        OnnxWorkout.AssertMatches(File.ReadAllBytes(harness.FileOf(graph, FittedTransform.OnnxFileName)), fitted.ToOnnxInputs(batch),
            [NamedTensor.Create(FittedTransform.FeaturesOutputName, expected.Features, batch.RowCount, fitted.Width)]);
    }

    [Fact]
    public async Task Execute_SpecNamingMissingFeature_FailsBeforeTheFullPassNamingIt()
    {
        var spec = "features:\n  - { name: beak, input: beak_length_mm, kind: z_score }\nlabel: { input: species }\n";
        var results = await harness.RunAsync("p", [.. LearningNodes.Data(), LearningNodes.Transform(parameters: new() { ["spec"] = spec })]);
        var transform = results["transform"];
        Assert.False(transform.Succeeded);
        Assert.Contains("TransformSpecException", transform.Error, StringComparison.Ordinal);
        Assert.Contains("feature 'beak' (z_score): input column 'beak_length_mm' is not in the schema", transform.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_ScalerOnStringFeature_FailsNamingFeatureAndTransform()
    {
        var spec = "{\"features\":[{\"name\":\"island_z\",\"input\":\"island\",\"kind\":\"z_score\"}],\"label\":{\"input\":\"species\"}}";
        var results = await harness.RunAsync("p", [.. LearningNodes.Data(), LearningNodes.Transform(parameters: new() { ["spec"] = spec })]);
        var transform = results["transform"];
        Assert.False(transform.Succeeded);
        Assert.Contains("feature 'island_z' (z_score)", transform.Error, StringComparison.Ordinal);
        Assert.Contains("String", transform.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_SpecFileNested100000Deep_FailsTheNodeNamingFileAndLine()
    {
        // Issue 18 item 3: this file (200 KB) used to overflow the stack and end the whole host, again after every restart.
        var file = harness.Temp.Write("deep/spec.yaml", "features: " + new string('[', 100_000) + new string(']', 100_000));
        var results = await harness.RunAsync("p", [.. LearningNodes.Data(), LearningNodes.Transform(parameters: new() { ["module_file"] = file })]);
        var transform = results["transform"];
        Assert.False(transform.Succeeded);
        Assert.Contains($"{file}: line 1, column ", transform.Error, StringComparison.Ordinal);
        Assert.Contains(nameof(TransformSpecLimits.MaxDepth), transform.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_InlineSpecBadKindOrTooManyFeatures_FailsNamingTheParameterAndPlace()
    {
        var results = await harness.RunAsync("p", [.. LearningNodes.Data(), LearningNodes.Transform(parameters: new() { ["spec"] = "features:\n  - { name: bill, kind: standardize }\n" })]);
        Assert.Contains("parameter 'spec': line 2, column 25: 'features[0].kind': not a valid feature kind", results["transform"].Error, StringComparison.Ordinal);

        var two = "features:\n  - { name: bill_length_mm }\n  - { name: flipper_length_mm }\nlabel: { input: species }\n";
        results = await harness.RunAsync("q", [.. LearningNodes.Data(), LearningNodes.Transform(parameters: new() { ["spec"] = two, ["max_features"] = 1L })]);
        Assert.Contains("parameter 'spec': line 2, column 3: the spec has 2 features, more than MaxFeatures (1)", results["transform"].Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_BothSpecFileAndInlineSpec_FailsSayingGiveOne()
    {
        var results = await harness.RunAsync("p", [.. LearningNodes.Data(), LearningNodes.Transform(parameters: new() { ["module_file"] = LearningNodes.PenguinsSpec, ["spec"] = "features: []" })]);
        Assert.False(results["transform"].Succeeded);
        Assert.Contains("either as 'module_file'", results["transform"].Error, StringComparison.Ordinal);
    }
}

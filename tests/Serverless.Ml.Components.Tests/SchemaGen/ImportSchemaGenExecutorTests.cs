using Serverless.Ml.Components.SchemaGen;
using Serverless.Ml.Data.Schemas;

namespace Serverless.Ml.Components.Tests.SchemaGen;

public sealed class ImportSchemaGenExecutorTests : IDisposable
{
    private readonly NodeHarness harness = new();

    public void Dispose() => harness.Dispose();

    [Fact]
    public async Task Execute_CuratedFile_PublishesItAsSchema()
    {
        var file = harness.Temp.Write("schema.json", """{"feature":[{"name":"species","type":"STRING","presence":{"min_fraction":1},"string_domain":{"value":["Adelie","Gentoo"]}}]}""");
        var results = await harness.RunAsync("p", Nodes.Node("schema", "ImportSchemaGen", new() { ["schema_file"] = file }));
        Assert.True(results["schema"].Succeeded, results["schema"].Error);
        var schema = DatasetSchema.FromJson(harness.ReadText(results["schema"].Outputs["schema"], SchemaGenExecutor.SchemaPath));
        Assert.Equal(["Adelie", "Gentoo"], schema.Find("species")!.StringDomain!.Value);
        Assert.Equal(file, results["schema"].Outputs["schema"].Properties["source_uri"].StringValue);
    }

    [Fact]
    public async Task Execute_DuplicateFeature_FailsTheNode()
    {
        var file = harness.Temp.Write("schema.json", """{"feature":[{"name":"a","type":"INT"},{"name":"a","type":"INT"}]}""");
        var results = await harness.RunAsync("p", Nodes.Node("schema", "ImportSchemaGen", new() { ["schema_file"] = file }));
        Assert.False(results["schema"].Succeeded);
        Assert.Contains("a", results["schema"].Error, StringComparison.Ordinal);
    }
}

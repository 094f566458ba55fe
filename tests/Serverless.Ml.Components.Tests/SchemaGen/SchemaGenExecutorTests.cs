using Serverless.Ml.Components.SchemaGen;
using Serverless.Ml.Data.Schemas;
using Serverless.Ml.Data.Statistics;

namespace Serverless.Ml.Components.Tests.SchemaGen;

public sealed class SchemaGenExecutorTests : IDisposable
{
    private readonly NodeHarness harness = new();

    public void Dispose() => harness.Dispose();

    [Fact]
    public async Task Execute_PenguinsTrainStatistics_InfersTypesPresenceAndDomains()
    {
        var results = await harness.RunAsync(
            "p",
            Nodes.CsvGen("gen", TestData.DatasetsFolder, "penguins.csv"),
            Nodes.Stats("stats", "gen"),
            Nodes.Schema("schema", "stats"));
        Assert.True(results["schema"].Succeeded, results["schema"].Error);
        var schema = DatasetSchema.FromJson(harness.ReadText(results["schema"].Outputs["schema"], SchemaGenExecutor.SchemaPath));
        Assert.Equal(8, schema.Feature.Count);
        var species = schema.Find("species")!;
        Assert.Equal(FeatureType.STRING, species.Type);
        Assert.Equal(["Adelie", "Chinstrap", "Gentoo"], species.StringDomain!.Value.Order(StringComparer.Ordinal));
        Assert.Equal(1, species.Presence!.MinFraction); // never missing: required
        Assert.Equal(0, schema.Find("sex")!.Presence!.MinFraction); // sometimes missing: optional
        Assert.Equal(FeatureType.INT, schema.Find("year")!.Type);
        Assert.Equal(FeatureType.FLOAT, schema.Find("bill_length_mm")!.Type);
        Assert.Null(schema.Find("body_mass_g")!.IntDomain ?? (object?)schema.Find("body_mass_g")!.FloatDomain); // numeric ranges off by default
        Assert.Equal(8, results["schema"].Outputs["schema"].Properties["feature_count"].IntValue);
    }

    [Fact]
    public async Task Execute_UnknownSplit_FailsNamingTheKnownSplits()
    {
        var results = await harness.RunAsync(
            "p",
            Nodes.CsvGen("gen", TestData.DatasetsFolder, "penguins.csv"),
            Nodes.Stats("stats", "gen"),
            Nodes.Schema("schema", "stats", new() { ["split"] = "test" }));
        Assert.False(results["schema"].Succeeded);
        Assert.Contains("train, eval", results["schema"].Error, StringComparison.Ordinal);
    }
}

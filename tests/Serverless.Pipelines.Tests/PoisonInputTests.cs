using System.Text;
using Serverless.Metadata;

namespace Serverless.Pipelines.Tests;

/// <summary>
/// Issue 18 items 3, 5 and 10 in the pipeline layer: inputs built to exhaust the stack, memory or CPU are errors that
/// name the place and the limit, in linear time, and never end the process.
/// </summary>
public sealed class PoisonInputTests
{
    private readonly ComponentRegistry registry = TestPipelines.Registry();

    private static List<NodeDefinition> Cycle(int count) =>
        Enumerable.Range(0, count).Select(i => new NodeDefinition
        {
            Id = $"n{i}",
            Component = "StatsToStats",
            Inputs = new Dictionary<string, ChannelRef> { ["statistics"] = new($"n{(i + count - 1) % count}", "statistics") },
        }).ToList();

    [Fact]
    public void Validate_100000NodeCycle_OneShortErrorNamingTheCycle()
    {
        var definition = new PipelineDefinition { Name = "poison", Nodes = Cycle(100_000) };

        var result = PipelineValidator.Validate(definition, registry, new PipelineValidationOptions { Limits = PipelineLimits.Default with { MaxNodes = 200_000 } });

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("cycle of 100000 nodes: n1 -> n2 -> ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("-> n8 -> ... (99991 more) ... -> n0 -> n1", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 300, error.Message);
        Assert.Equal("n1", error.Node);
        Assert.Equal("inputs.statistics", error.Field);
    }

    [Fact]
    public void Validate_LongChain_ValidatesInTopologicalOrder()
    {
        var nodes = Cycle(20_000);
        nodes[0] = nodes[0] with { Inputs = new Dictionary<string, ChannelRef>(), Component = "StatsToStats" };
        var definition = new PipelineDefinition { Name = "chain", Nodes = [.. nodes.AsEnumerable().Reverse()] };

        var result = PipelineValidator.Validate(definition, registry, new PipelineValidationOptions { Limits = PipelineLimits.Default with { MaxNodes = 20_000 } });

        Assert.Contains(result.Errors, e => e.Message.Contains("required input", StringComparison.Ordinal)); // n0 lost its input
        var fixedUp = definition with { Nodes = [.. definition.Nodes.Select(n => n.Id == "n0" ? n with { Component = "FileCopy", Parameters = new Dictionary<string, MetadataValue> { ["source"] = "/" } } : n)] };
        var graph = PipelineValidator.Validate(fixedUp, registry, new PipelineValidationOptions { CheckPaths = false, Limits = PipelineLimits.Default with { MaxNodes = 20_000 } }).Graph;
        Assert.Null(graph); // n1 reads 'statistics' from a FileCopy: a type mismatch, reported rather than looping
    }

    [Fact]
    public void Validate_MoreNodesThanTheLimit_OneErrorNamingTheSetting()
    {
        var result = PipelineValidator.Validate(new PipelineDefinition { Name = "big", Nodes = Cycle(1001) }, registry);

        var error = Assert.Single(result.Errors);
        Assert.Contains("more than the limit of 1000", error.Message, StringComparison.Ordinal);
        Assert.Contains("maxNodes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NullsFromJson_ErrorsNotExceptions()
    {
        var definition = new PipelineDefinition
        {
            Name = null!,
            Nodes = [null!, new NodeDefinition { Id = null!, Component = null!, Inputs = null!, Parameters = null!, UserCode = null! }],
        };

        var result = PipelineValidator.Validate(definition, registry);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Field == "nodes[0]");
        Assert.Contains(result.Errors, e => e.Field == "name");
    }

    [Fact]
    public void Validate_HugeParameterAndId_ErrorsQuoteOnlyAPrefix()
    {
        var huge = new string('x', 10_000_000);
        var definition = new PipelineDefinition
        {
            Name = "p",
            Nodes = [TestPipelines.Import("import", huge), TestPipelines.Import(huge, "/")],
        };

        var result = PipelineValidator.Validate(definition, registry);

        Assert.Contains(result.Errors, e => e.Field == "parameters.source" && e.Message.Contains("more than the limit of 65536", StringComparison.Ordinal));
        Assert.All(result.Errors, e => Assert.True(e.ToString().Length < 1000, $"{e.ToString().Length} characters"));
    }

    [Fact]
    public void Parse_Yaml100000Deep_ErrorNamesLineColumnAndLimit()
    {
        var text = "name: deep\nnodes: " + new string('[', 100_000) + new string(']', 100_000) + "\n";

        var result = PipelineLoader.Parse(text, PipelineFileFormat.Yaml, "deep.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Contains("nested deeper than 32", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, error.Line);
        Assert.StartsWith("deep.yaml:2:", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Json100000Deep_SyntaxErrorWithPlace()
    {
        var text = "{\"name\": \"deep\", \"nodes\": " + new string('[', 100_000) + new string(']', 100_000) + "}";

        var result = PipelineLoader.Parse(text, PipelineFileFormat.Json, "deep.json");

        var error = Assert.Single(result.Errors);
        Assert.Contains("JSON syntax error", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, error.Line);
    }

    [Fact]
    public void Parse_BillionLaughs_ErrorNamesAliasLimitBeforeExpanding()
    {
        var text = new StringBuilder("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (var level = 'b'; level <= 'j'; level++)
        {
            var previous = (char)(level - 1);
            text.Append(level).Append(": &").Append(level).Append(" [").Append(string.Join(", ", Enumerable.Repeat($"*{previous}", 10))).Append("]\n");
        }

        text.Append("name: laughs\nnodes: []\n");

        var result = PipelineLoader.Parse(text.ToString(), PipelineFileFormat.Yaml, "laughs.yaml");
        var few = PipelineLoader.Parse("a: &a x\nb: [" + string.Join(", ", Enumerable.Repeat("*a", 101)) + "]\nname: p\nnodes: []\n", PipelineFileFormat.Yaml, "aliases.yaml");

        Assert.Contains("once its aliases are expanded", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
        Assert.Contains("more than 100 aliases", Assert.Single(few.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RecursiveAlias_Error()
    {
        var result = PipelineLoader.Parse("name: r\nnodes: &n [*n]\n", PipelineFileFormat.Yaml, "r.yaml");

        Assert.Contains("contains it", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("name: p\nnodes:\n  - id: a\n    component: FileCopy\n    parameters: { [x]: 1 }\n", "parameters")]
    [InlineData("name: p\nnodes:\n  - id: a\n    component: CsvRowCount\n    inputs: { { k: v }: b.c }\n", "inputs")]
    [InlineData("? [name]\n: p\nnodes: []\n", null)]
    public void Parse_CollectionAsKey_ErrorNotException(string text, string? field)
    {
        var result = PipelineLoader.Parse(text, PipelineFileFormat.Yaml, "keys.yaml");

        Assert.False(result.IsSuccess);
        Assert.All(result.Errors, e => Assert.Equal("keys.yaml", e.File));
        if (field is not null)
        {
            Assert.Contains(result.Errors, e => e.Field == field && e.Line is not null);
        }
    }

    [Fact]
    public void Parse_FileOverSizeLimit_ErrorNamesSetting()
    {
        var result = PipelineLoader.Parse("name: p\n#" + new string('x', 2_000_000) + "\n", PipelineFileFormat.Yaml, "big.yaml");

        Assert.Contains("maxPipelineFileBytes", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ManyBadNodes_ErrorsCappedWithCount()
    {
        var text = "name: p\nnodes:\n" + string.Concat(Enumerable.Range(0, 500).Select(i => $"  - id: n{i}\n    colour: red\n"));

        var result = PipelineLoader.Parse(text, PipelineFileFormat.Yaml, "many.yaml");

        Assert.Equal(PipelineError.MaxReported + 1, result.Errors.Count);
        Assert.Matches(@"^and \d+ more errors$", result.Errors[^1].Message);
    }
}

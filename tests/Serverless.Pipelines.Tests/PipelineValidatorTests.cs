using Serverless.Metadata;
using Serverless.Pipelines;

namespace Serverless.Pipelines.Tests;

public sealed class PipelineValidatorTests : IDisposable
{
    private readonly TempFolder temp = new();
    private readonly ComponentRegistry registry = TestPipelines.Registry();
    private readonly string data;

    public PipelineValidatorTests() => data = temp.Write("data.csv", "a,b\n1,2\n");

    public void Dispose() => temp.Dispose();

    private PipelineValidationResult Validate(params NodeDefinition[] nodes) =>
        PipelineValidator.Validate(new PipelineDefinition { Name = "p", Nodes = nodes }, registry);

    private static NodeDefinition Join(string id, string examples, string statistics, string? label = "x", IReadOnlyDictionary<string, MetadataValue>? parameters = null) => new()
    {
        Id = id,
        Component = "Join",
        Inputs = new Dictionary<string, ChannelRef> { ["examples"] = new(examples, "examples"), ["statistics"] = new(statistics, "statistics") },
        Parameters = parameters ?? (label is null ? MetadataMaps.Empty : new Dictionary<string, MetadataValue> { ["label"] = label }),
    };

    [Fact]
    public void Validate_ConsumerDeclaredFirst_OrdersProducersFirstAndAppliesDefaults()
    {
        var result = Validate(TestPipelines.Count("count", "import"), TestPipelines.Import("import", data));

        var graph = result.GraphOrThrow();
        Assert.Equal(["import", "count"], graph.Nodes.Select(n => n.Id));
        Assert.Equal(MetadataValue.FromBool(true), graph.GetNode("count").Parameters["has_header"]);
        Assert.Equal(["import"], graph.GetNode("count").Upstream);
        Assert.Equal(data, graph.GetNode("import").Parameters["source"].StringValue);
    }

    [Fact]
    public void Validate_Diamond_GroupsIndependentNodesInOneLevel()
    {
        var result = Validate(
            TestPipelines.Import("import", data),
            TestPipelines.Count("count_a", "import"),
            TestPipelines.Count("count_b", "import"),
            Join("join", "import", "count_b"));

        var graph = result.GraphOrThrow();
        Assert.Equal(
            [["import"], ["count_a", "count_b"], ["join"]],
            graph.Levels.Select(level => level.Select(n => n.Id).ToArray()).ToArray());
    }

    [Fact]
    public void Validate_Cycle_ReportsTheCycleNamingItsNodes()
    {
        var a = new NodeDefinition { Id = "a", Component = "StatsToStats", Inputs = new Dictionary<string, ChannelRef> { ["statistics"] = new("b", "statistics") } };
        var b = new NodeDefinition { Id = "b", Component = "StatsToStats", Inputs = new Dictionary<string, ChannelRef> { ["statistics"] = new("a", "statistics") } };

        var result = Validate(a, b);

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Contains("cycle", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Contains("a -> b -> a", StringComparison.Ordinal) || error.Message.Contains("b -> a -> b", StringComparison.Ordinal), error.Message);
        Assert.Equal("inputs.statistics", error.Field);
    }

    [Fact]
    public void Validate_SelfLoop_ReportsCycle()
    {
        var result = Validate(new NodeDefinition { Id = "a", Component = "StatsToStats", Inputs = new Dictionary<string, ChannelRef> { ["statistics"] = new("a", "statistics") } });

        Assert.Equal("cycle: a -> a", Assert.Single(result.Errors).Message);
    }

    [Fact]
    public void Validate_InputFromUnknownNode_ReportsDanglingInputWithNodeAndField()
    {
        var result = Validate(TestPipelines.Count("count", "imprt"));

        var error = Assert.Single(result.Errors);
        Assert.Equal("count", error.Node);
        Assert.Equal("inputs.examples", error.Field);
        Assert.Contains("dangling input", error.Message, StringComparison.Ordinal);
        Assert.Contains("'imprt'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_InputFromUnknownOutput_ReportsDanglingInputListingOutputs()
    {
        var count = TestPipelines.Count("count", "import") with { Inputs = new Dictionary<string, ChannelRef> { ["examples"] = new("import", "exampels") } };

        var result = Validate(TestPipelines.Import("import", data), count);

        var error = Assert.Single(result.Errors);
        Assert.Contains("no output 'exampels'", error.Message, StringComparison.Ordinal);
        Assert.Contains("outputs: examples", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_OutputTypeDiffersFromInputType_ReportsBothTypes()
    {
        var result = Validate(TestPipelines.Import("import", data), TestPipelines.Count("count", "import"), Join("join", "import", "import") with
        {
            Inputs = new Dictionary<string, ChannelRef> { ["examples"] = new("import", "examples"), ["statistics"] = new("import", "examples") },
        });

        var error = Assert.Single(result.Errors);
        Assert.Equal(("join", "inputs.statistics"), (error.Node, error.Field));
        Assert.Contains("expects ExampleStatistics but 'import.examples' produces Examples", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownParameter_NamesNodeAndParameter()
    {
        var count = TestPipelines.Count("count", "import") with { Parameters = new Dictionary<string, MetadataValue> { ["has_headr"] = false } };

        var result = Validate(TestPipelines.Import("import", data), count);

        var error = Assert.Single(result.Errors);
        Assert.Equal(("count", "parameters.has_headr"), (error.Node, error.Field));
        Assert.Contains("unknown parameter", error.Message, StringComparison.Ordinal);
        Assert.Contains("has_header", error.Message, StringComparison.Ordinal);
        Assert.Equal("node 'count', field 'parameters.has_headr': " + error.Message, error.ToString());
    }

    [Fact]
    public void Validate_MissingRequiredAndMistypedParameters_ReportsEach()
    {
        var result = Validate(
            TestPipelines.Import("import", data),
            TestPipelines.Count("count", "import"),
            Join("join", "import", "count", parameters: new Dictionary<string, MetadataValue> { ["threshold"] = "high" }));

        Assert.Equal(
            ["parameters.label", "parameters.threshold"],
            result.Errors.Select(e => e.Field).Order(StringComparer.Ordinal));
        Assert.Contains(result.Errors, e => e.Message.Contains("expected a number but got the string 'high'", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_IntegerForDoubleParameter_ConvertsIt()
    {
        var graph = Validate(
            TestPipelines.Import("import", data),
            TestPipelines.Count("count", "import"),
            Join("join", "import", "count", parameters: new Dictionary<string, MetadataValue> { ["label"] = "x", ["threshold"] = 2L, ["depth"] = 3.0 })).GraphOrThrow();

        Assert.Equal(MetadataValue.FromDouble(2.0), graph.GetNode("join").Parameters["threshold"]);
        Assert.Equal(MetadataValue.FromInt(3), graph.GetNode("join").Parameters["depth"]);
    }

    [Fact]
    public void Validate_RequiredInputNotConnected_ReportsIt()
    {
        var result = Validate(new NodeDefinition { Id = "count", Component = "CsvRowCount" });

        var error = Assert.Single(result.Errors);
        Assert.Equal("inputs.examples", error.Field);
        Assert.Contains("not connected", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownInputChannel_ReportsIt()
    {
        var count = TestPipelines.Count("count", "import") with
        {
            Inputs = new Dictionary<string, ChannelRef> { ["examples"] = new("import", "examples"), ["data"] = new("import", "examples") },
        };

        var error = Assert.Single(Validate(TestPipelines.Import("import", data), count).Errors);

        Assert.Equal("inputs.data", error.Field);
        Assert.Contains("has no input 'data'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DataPathMissing_ReportsBeforeRunUnlessPathsAreNotChecked()
    {
        var missing = Path.Combine(temp.Path, "nope.csv");
        var definition = new PipelineDefinition { Name = "p", Nodes = [TestPipelines.Import("import", missing)] };

        var checkedResult = PipelineValidator.Validate(definition, registry);
        var notChecked = PipelineValidator.Validate(definition, registry, checkPaths: false);

        var error = Assert.Single(checkedResult.Errors);
        Assert.Equal(("import", "parameters.source"), (error.Node, error.Field));
        Assert.Contains($"data path '{missing}' does not exist", error.Message, StringComparison.Ordinal);
        Assert.True(notChecked.IsValid);
    }

    [Fact]
    public void Validate_RelativeDataPath_ResolvesAgainstBaseDirectory()
    {
        var definition = new PipelineDefinition { Name = "p", Nodes = [TestPipelines.Import("import", "data.csv")], BaseDirectory = temp.Path };

        var graph = PipelineValidator.Validate(definition, registry).GraphOrThrow();

        Assert.Equal(data, graph.GetNode("import").Parameters["source"].StringValue);
    }

    [Fact]
    public void Validate_MissingUserCode_ReportsIt()
    {
        var node = TestPipelines.Import("import", data) with { UserCode = ["trainer_module.py"], };

        var error = Assert.Single(PipelineValidator.Validate(new PipelineDefinition { Name = "p", Nodes = [node], BaseDirectory = temp.Path }, registry).Errors);

        Assert.Equal("user_code[0]", error.Field);
    }

    [Fact]
    public void Validate_UnknownComponentDuplicateIdsAndBadNames_ReportsEveryError()
    {
        var result = PipelineValidator.Validate(
            new PipelineDefinition
            {
                Name = "bad/name",
                Nodes =
                [
                    TestPipelines.Import("import", data),
                    TestPipelines.Import("import", data),
                    new NodeDefinition { Id = "x", Component = "Trainerr" },
                    new NodeDefinition { Id = "../up", Component = "FileCopy" },
                ],
            },
            registry);

        Assert.Equal(4, result.Errors.Count);
        Assert.Contains(result.Errors, e => e.Field == "name");
        Assert.Contains(result.Errors, e => e.Message.Contains("used by more than one node", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Node == "x" && e.Message.Contains("unknown component 'Trainerr'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Node == "../up" && e.Field == "id");
        Assert.Throws<PipelineValidationException>(result.GraphOrThrow);
    }

    [Fact]
    public void Validate_BadRetryAndApproval_ReportsEachField()
    {
        var node = TestPipelines.Import("import", data) with
        {
            Retry = new RetrySettings(0, TimeSpan.Zero, 0.5, null, TimeSpan.FromSeconds(-1)),
            Approval = new ApprovalGate("", TimeSpan.Zero),
        };

        var fields = Validate(node).Errors.Select(e => e.Field).Order(StringComparer.Ordinal);

        Assert.Equal(
            ["approval.event", "approval.timeout", "retry.backoff_coefficient", "retry.first_retry_interval", "retry.max_attempts", "retry.retry_timeout"],
            fields);
    }

    [Fact]
    public void Validate_NoNodes_ReportsIt()
    {
        Assert.Equal("nodes", Assert.Single(Validate().Errors).Field);
    }
}

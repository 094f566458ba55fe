using Serverless.Metadata;
using Serverless.Pipelines.Orchestration;

namespace Serverless.Pipelines.Tests;

/// <summary>Allowed roots and parameter classification (issue 18, item 1): no run touches a location the operator did not allow.</summary>
public sealed class PipelineRootsTests : IDisposable
{
    private readonly TempFolder temp = new();
    private readonly SqliteMetadataStore metadata;
    private readonly InMemoryBlobStoreTestDouble blobs = new();
    private readonly ComponentRegistry registry = TestPipelines.Registry();
    private readonly string inputs;
    private readonly string outside;
    private int writes;

    public PipelineRootsTests()
    {
        metadata = SqliteMetadataStore.Open(Path.Combine(temp.Path, "metadata.db"));
        inputs = Path.GetDirectoryName(temp.Write("inputs/data.csv", "a\n1\n"))!;
        outside = temp.Write("secret/passwd", "root:x:0:0\n");
        registry.Register(new DelegateComponent(
            new ComponentSpec
            {
                Type = "Push",
                Version = "1",
                Outputs = [new ChannelSpec("pushed", ArtifactTypes.PushedModel)],
                Parameters =
                [
                    new ParameterSpec("destination", ParameterType.String, Default: "") { Use = ParameterUse.ServingPath },
                    new ParameterSpec("pattern", ParameterType.String, Default: "*.csv") { Use = ParameterUse.RelativePattern },
                    new ParameterSpec("name", ParameterType.String, Default: "m") { Use = ParameterUse.Value },
                    new ParameterSpec("spec", ParameterType.String, Default: ""),
                ],
            },
            async (_, outputs, _, _, cancellation) =>
            {
                Interlocked.Increment(ref writes);
                await outputs["pushed"].WriteTextAsync("pushed.json", "{}", cancellation);
            }));
    }

    public void Dispose()
    {
        metadata.Dispose();
        temp.Dispose();
    }

    private PipelineRoots Roots => new() { Inputs = [inputs], ServingRepository = Path.Combine(temp.Path, "serving"), Scratch = Path.Combine(temp.Path, "scratch") };

    private Task<NodeRunResult> RunAsync(NodeDefinition node)
    {
        var graph = PipelineValidator.Validate(new PipelineDefinition { Name = "p", Nodes = [node] }, registry).GraphOrThrow();
        var runner = new NodeRunner(registry, metadata, blobs, options: new NodeRunnerOptions { Roots = Roots });
        return runner.RunAsync(NodeRunRequest.ForNode(graph, node.Id, "run-1", $"run-1-{node.Id}", new Dictionary<string, NodeRunResult>()));
    }

    [Fact]
    public async Task RunAsync_SourceOutsideInputRoots_FailsBeforeReadingAndNamesParameterAndRoots()
    {
        var result = await RunAsync(TestPipelines.Import("import", outside));

        Assert.Equal(NodeRunStatus.Failed, result.Status);
        Assert.Contains("parameters.source", result.Error, StringComparison.Ordinal);
        Assert.Contains(outside, result.Error, StringComparison.Ordinal);
        Assert.Contains(inputs, result.Error, StringComparison.Ordinal);
        Assert.Empty(blobs.Names);
    }

    [Fact]
    public async Task RunAsync_SymlinkInsideRootPointingOutside_Fails()
    {
        var link = Path.Combine(inputs, "innocent.csv");
        File.CreateSymbolicLink(link, outside);

        var result = await RunAsync(TestPipelines.Import("import", link));

        Assert.Equal(NodeRunStatus.Failed, result.Status);
        Assert.Contains("resolves to", result.Error, StringComparison.Ordinal);
        Assert.Empty(blobs.Names);
    }

    [Fact]
    public async Task RunAsync_SourceInsideRoot_Runs()
    {
        var result = await RunAsync(TestPipelines.Import("import", Path.Combine(inputs, "data.csv")));

        Assert.Equal(NodeRunStatus.Complete, result.Status);
    }

    [Theory]
    [InlineData("destination", "/tmp/elsewhere", "serving repository root")]
    [InlineData("destination", "relative/folder", "not an absolute path")]
    [InlineData("pattern", "../secret/*", "'..' segment")]
    [InlineData("pattern", "/etc/*", "relative to the input folder")]
    public async Task RunAsync_WriteLocationOrPatternOutsideRoots_FailsWithoutRunning(string parameter, string value, string expected)
    {
        var node = new NodeDefinition { Id = "push", Component = "Push", Parameters = new Dictionary<string, MetadataValue> { [parameter] = value } };

        var result = await RunAsync(node);

        Assert.Equal(NodeRunStatus.Failed, result.Status);
        Assert.Contains($"parameters.{parameter}", result.Error, StringComparison.Ordinal);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
        Assert.Equal(0, writes);
    }

    [Fact]
    public async Task RunAsync_DestinationInsideServingRoot_Runs()
    {
        var node = new NodeDefinition { Id = "push", Component = "Push", Parameters = new Dictionary<string, MetadataValue> { ["destination"] = Path.Combine(temp.Path, "serving", "m") } };

        Assert.Equal(NodeRunStatus.Complete, (await RunAsync(node)).Status);
        Assert.Equal(1, writes);
    }

    [Fact]
    public void Validate_WithRoots_ReportsEveryOutsideLocationBeforeAnythingRuns()
    {
        var definition = new PipelineDefinition
        {
            Name = "p",
            Nodes = [TestPipelines.Import("import", outside) with { UserCode = ["/etc/hostname"] }],
        };

        var result = PipelineValidator.Validate(definition, registry, new PipelineValidationOptions { Roots = Roots, CheckPaths = false });

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Field == "parameters.source" && e.Node == "import");
        Assert.Contains(result.Errors, e => e.Field == "user_code[0]");
    }

    [Theory]
    [InlineData("import.source")]
    [InlineData("push.destination")]
    [InlineData("push.spec")]
    public void Apply_RequestSetsOperatorSetting_ErrorNamesParameter(string key)
    {
        var definition = new PipelineDefinition { Name = "p", Nodes = [TestPipelines.Import("import", inputs), new NodeDefinition { Id = "push", Component = "Push" }] };

        var error = Assert.Throws<PipelineValidationException>(() => RunParameters.Apply(definition, new Dictionary<string, string> { [key] = "/tmp/x" }, registry, ParameterSource.Request));

        Assert.Contains("operator setting", error.Message, StringComparison.Ordinal);
        Assert.Equal($"parameters.{key[(key.IndexOf('.') + 1)..]}", Assert.Single(error.Errors).Field);
    }

    [Fact]
    public void Apply_RequestSetsValuesAndPatterns_Applied_OperatorMaySetAnything()
    {
        var definition = new PipelineDefinition { Name = "p", Nodes = [TestPipelines.Import("import", inputs), new NodeDefinition { Id = "push", Component = "Push" }] };

        var request = RunParameters.Apply(definition, new Dictionary<string, string> { ["push.name"] = "m2", ["push.pattern"] = "*.tsv" }, registry, ParameterSource.Request);
        var operatorSet = RunParameters.Apply(definition, new Dictionary<string, string> { ["push.spec"] = "features: []", ["import.source"] = "/x" }, registry, ParameterSource.Operator);

        Assert.Equal("m2", request.Nodes[1].Parameters["name"].StringValue);
        Assert.Equal("features: []", operatorSet.Nodes[1].Parameters["spec"].StringValue);
    }

    [Fact]
    public void Use_Defaults_FollowTypeAndStringsAreOperatorSettingsUntilDeclared()
    {
        Assert.Equal(ParameterUse.InputPath, new ParameterSpec("p", ParameterType.Path).Use);
        Assert.Equal(ParameterUse.Text, new ParameterSpec("s", ParameterType.String).Use);
        Assert.False(new ParameterSpec("s", ParameterType.String).SafeForRequests);
        Assert.True(new ParameterSpec("n", ParameterType.Int).SafeForRequests);
        var bad = new ComponentSpec { Type = "Bad", Version = "1", Parameters = [new ParameterSpec("p", ParameterType.Path) { Use = ParameterUse.Value }] };
        Assert.Throws<ArgumentException>(bad.EnsureValid);
    }

    [Fact]
    public void RealPath_LinkedFolderAndDotDot_ResolvedAsTheKernelDoes()
    {
        var target = Directory.CreateDirectory(Path.Combine(temp.Path, "a", "b")).FullName;
        var link = Path.Combine(temp.Path, "link");
        Directory.CreateSymbolicLink(link, target);

        Assert.Equal(Path.Combine(target, "x.csv"), PipelineRoots.RealPath(Path.Combine(link, "x.csv")));
        Assert.Equal(Path.Combine(temp.Path, "a", "y"), PipelineRoots.RealPath(Path.Combine(link, "..", "y")));
    }

    [Fact]
    public void NewRunId_SameSecond_96RandomBitsDifferEveryTime()
    {
        var now = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

        var ids = Enumerable.Range(0, 100).Select(_ => PipelineRunStarter.NewRunId("penguins", now)).ToList();

        Assert.Equal(100, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches("^penguins-20260102-030405-[0-9a-f]{24}$", id));
        Assert.True(Names.IsValid(PipelineRunStarter.NewRunId(new string('p', 128), now)));
    }
}

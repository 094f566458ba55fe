using Serverless.Metadata;
using Serverless.Pipelines;
using Serverless.Pipelines.Orchestration;

namespace Serverless.Pipelines.Tests;

/// <summary>Where a run's data location (an uploaded blob, an HTTP body's data) goes: a source node's input path, never code.</summary>
public sealed class RunParametersDataTests
{
    private static readonly ComponentRegistry Registry = CreateRegistry();

    private static ComponentRegistry CreateRegistry()
    {
        var registry = TestPipelines.Registry();
        // A Trainer-like node: reads examples and loads user code from a path parameter.
        registry.Register(new DelegateComponent(new ComponentSpec
        {
            Type = "CodeLoader",
            Version = "1",
            Inputs = [new ChannelSpec("examples", ArtifactTypes.Examples)],
            Outputs = [new ChannelSpec("model", ArtifactTypes.Model)],
            Parameters = [new ParameterSpec("module_file", ParameterType.Path, Optional: true)],
        }));
        // A source that reads no path.
        registry.Register(new DelegateComponent(new ComponentSpec
        {
            Type = "Writer",
            Version = "1",
            Outputs = [new ChannelSpec("examples", ArtifactTypes.Examples)],
            Parameters = [new ParameterSpec("destination", ParameterType.String)],
        }));
        return registry;
    }

    private static NodeDefinition Trainer(string from) => new()
    {
        Id = "trainer",
        Component = "CodeLoader",
        Inputs = new Dictionary<string, ChannelRef> { ["examples"] = new(from, "examples") },
        Parameters = new Dictionary<string, MetadataValue> { ["module_file"] = "/models/model.dll" },
    };

    [Fact]
    public void CodeNodeDeclaredFirst_DataGoesToTheSourceNode_NeverToModuleFile()
    {
        var pipeline = new PipelineDefinition { Name = "p", Nodes = [Trainer("import"), TestPipelines.Import("import", "/data/a.csv")] };

        Assert.Equal("import.source", RunParameters.DataParameter(pipeline, Registry));
        var withData = RunParameters.WithData(pipeline, "/uploads/evil.dll", Registry);
        Assert.Equal("/models/model.dll", withData.Nodes.Single(n => n.Id == "trainer").Parameters["module_file"].StringValue);
        Assert.Equal(Path.GetFullPath("/uploads/evil.dll"), withData.Nodes.Single(n => n.Id == "import").Parameters["source"].StringValue);
    }

    [Fact]
    public void NoSourceNodeReadsAPath_DataIsRefusedWithTheField()
    {
        var pipeline = new PipelineDefinition { Name = "p", Nodes = [Trainer("writer"), new NodeDefinition { Id = "writer", Component = "Writer" }] };

        Assert.Null(RunParameters.DataParameter(pipeline, Registry));
        var e = Assert.Throws<PipelineValidationException>(() => RunParameters.WithData(pipeline, "/uploads/evil.dll", Registry));
        Assert.Contains("no path parameter to take the data location", e.Message, StringComparison.Ordinal);
    }
}

using Serverless.Metadata;
using Serverless.Pipelines;

namespace Serverless.Pipelines.Tests;

/// <summary>A component built from a spec and a delegate, for wiring tests.</summary>
internal sealed class DelegateComponent(ComponentSpec spec, Func<IReadOnlyDictionary<string, InputArtifact>, IReadOnlyDictionary<string, OutputArtifact>, ComponentParameters, ExecutorContext, CancellationToken, Task>? run = null) : Component
{
    public override ComponentSpec Spec => spec;

    public override IComponentExecutor CreateExecutor() => new Executor(run ?? ((_, _, _, _, _) => Task.CompletedTask));

    private sealed class Executor(Func<IReadOnlyDictionary<string, InputArtifact>, IReadOnlyDictionary<string, OutputArtifact>, ComponentParameters, ExecutorContext, CancellationToken, Task> run) : IComponentExecutor
    {
        public Task ExecuteAsync(IReadOnlyDictionary<string, InputArtifact> inputs, IReadOnlyDictionary<string, OutputArtifact> outputs, ComponentParameters parameters, ExecutorContext context, CancellationToken cancellation = default) =>
            run(inputs, outputs, parameters, context, cancellation);
    }
}

internal static class TestPipelines
{
    /// <summary>Built-ins plus: Join (examples + statistics -> schema), StatsToStats (a loopable ExampleStatistics -> ExampleStatistics).</summary>
    public static ComponentRegistry Registry()
    {
        var registry = ComponentRegistry.CreateWithBuiltIns();
        registry.Register(new DelegateComponent(new ComponentSpec
        {
            Type = "Join",
            Version = "1",
            Inputs = [new ChannelSpec("examples", ArtifactTypes.Examples), new ChannelSpec("statistics", ArtifactTypes.ExampleStatistics), new ChannelSpec("extra", ArtifactTypes.Schema, Optional: true)],
            Outputs = [new ChannelSpec("schema", ArtifactTypes.Schema)],
            Parameters =
            [
                new ParameterSpec("threshold", ParameterType.Double, Default: 0.5),
                new ParameterSpec("depth", ParameterType.Int, Optional: true),
                new ParameterSpec("label", ParameterType.String),
            ],
        }));
        registry.Register(new DelegateComponent(new ComponentSpec
        {
            Type = "StatsToStats",
            Version = "1",
            Inputs = [new ChannelSpec("statistics", ArtifactTypes.ExampleStatistics)],
            Outputs = [new ChannelSpec("statistics", ArtifactTypes.ExampleStatistics)],
        }));
        return registry;
    }

    public static NodeDefinition Import(string id, string source) => new()
    {
        Id = id,
        Component = "FileCopy",
        Parameters = new Dictionary<string, MetadataValue> { ["source"] = source },
    };

    public static NodeDefinition Count(string id, string from) => new()
    {
        Id = id,
        Component = "CsvRowCount",
        Inputs = new Dictionary<string, ChannelRef> { ["examples"] = new(from, "examples") },
    };
}

/// <summary>A temporary folder deleted after the test.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pipelines-tests-" + Guid.NewGuid().ToString("N"));

    public TempFolder() => Directory.CreateDirectory(Path);

    public string Write(string relative, string content)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

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

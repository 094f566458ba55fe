using Microsoft.DurableTask.Client;
using Serverless.Pipelines.Hosting;
using Serverless.Pipelines.Orchestration;

namespace Serverless.Functions.Tests;

/// <summary>The orchestrator function and the activity functions, run by the local durable runtime with a real
/// TaskOrchestrationContext on real data.</summary>
public sealed class OrchestrationFunctionTests : IDisposable
{
    private readonly TempHome temp = new();

    public void Dispose() => temp.Dispose();

    private static Task<PipelineRunInput> StartAsync(FunctionsHost host, string pipeline, string runId) => host.StartRunAsync(pipeline, runId);

    [Fact]
    public async Task PenguinsData_RunsThroughTheOrchestratorFunction_EachComponentInItsOwnActivityFunction()
    {
        await using var host = await FunctionsHost.StartAsync(temp.Path);
        await StartAsync(host, "penguins_data", "data-1");
        var done = await host.CompletedAsync("data-1");
        var status = done.ReadOutputAs<PipelineRunStatus>()!;
        Assert.Equal(PipelineRunState.Succeeded, status.State);
        Assert.All(status.Nodes, n => Assert.Equal(NodeState.Complete, n.State));
        // Each node ran in the activity function named after its component, none in the generic one.
        Assert.Equal(["CsvExampleGen", "ExampleValidator", "SchemaGen", "StatisticsGen"], host.Invoked.Distinct().Order(StringComparer.Ordinal));

        // CsvExampleGen read the penguins CSV and wrote its splits to the artifact store.
        var examples = status.Nodes.Single(n => n.Node == "example_gen").Artifacts["examples"];
        var files = new List<string>();
        await foreach (var blob in host.Runtime.Blobs.ListAsync(examples.TrimEnd('/') + "/"))
        {
            files.Add(blob.Name);
        }

        Assert.Contains(files, f => f.Contains("train", StringComparison.Ordinal));
        Assert.Contains(files, f => f.Contains("eval", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BuiltInComponents_WithoutActivityFunctions_RunInRunPipelineNode()
    {
        await using var host = await FunctionsHost.StartAsync(temp.Path);
        await StartAsync(host, "penguins", "builtins-1");
        var done = await host.CompletedAsync("builtins-1");
        Assert.Equal(3, host.Invoked.Count(n => n == RunPipelineNodeActivity.Name));
        Assert.DoesNotContain("FileCopy", host.Invoked);
    }

    [Fact]
    public async Task EveryMlComponentOfTheRuntime_HasItsActivityFunction()
    {
        await using var host = await FunctionsHost.StartAsync(temp.Path);
        var builtIns = new[] { "FileCopy", "CsvRowCount" };
        var ml = host.Runtime.Components.Types.Except(builtIns).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(ml, OrchestrationFunctions.ComponentTypes.Order(StringComparer.Ordinal));
        Assert.Equal(ml, OrchestrationFunctions.Activities.Types);
        foreach (var type in OrchestrationFunctions.ComponentTypes)
        {
            Assert.Contains(type, host.Activities);
            Assert.Equal(type, OrchestrationFunctions.Activities.NameFor(type));
        }

        Assert.Contains(RunPipelineNodeActivity.Name, host.Activities);
        Assert.Contains(Serverless.Ml.Components.Tuner.TunerTrials.ActivityName, host.Activities);
        Assert.Equal(RunPipelineNodeActivity.Name, OrchestrationFunctions.Activities.NameFor("FileCopy"));
    }

    [Fact]
    public async Task DurableClientBinding_BeforeAnyBinding_SaysWhy()
    {
        var binding = new DurableClientBinding();
        Assert.False(binding.IsBound);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => binding.GetInstanceAsync("x"));
        Assert.Contains("[DurableClient]", e.Message, StringComparison.Ordinal);
    }
}

using DurableTask.Core.History;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Pipelines.Orchestration;

namespace Serverless.Pipelines.Tests;

/// <summary>Node activities named after their component type (<see cref="ComponentActivities"/>), on the local runtime.</summary>
public sealed class ComponentActivitiesTests : IAsyncLifetime
{
    private readonly string folder = Directory.CreateTempSubdirectory("sml-activities-").FullName;
    private DurableTestHost? host;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (host is not null) await host.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(folder, true); } catch (IOException) { }
    }

    [Fact]
    public void NameFor_OwnTypesByName_OthersFallBack()
    {
        var activities = new ComponentActivities(["CsvExampleGen", "Trainer"]);
        Assert.Equal("Trainer", activities.NameFor("Trainer"));
        Assert.Equal(RunPipelineNodeActivity.Name, activities.NameFor("FileCopy"));
        Assert.Equal(RunPipelineNodeActivity.Name, ComponentActivities.None.NameFor("Trainer"));
        Assert.Equal(["CsvExampleGen", "Trainer"], activities.Types);
        Assert.Throws<ArgumentException>(() => new ComponentActivities(["Trainer", "trainer"]));
        Assert.Throws<ArgumentException>(() => new ComponentActivities([RunPipelineNodeActivity.Name]));
    }

    [Fact]
    public async Task LocalRuntime_RunsEachNodeInTheActivityOfItsComponentType()
    {
        var data = Path.Combine(folder, "data.csv");
        await File.WriteAllTextAsync(data, "a,b\n1,2\n3,4\n");
        var registry = ComponentRegistry.CreateWithBuiltIns();
        using var metadata = Serverless.Metadata.SqliteMetadataStore.Open(Path.Combine(folder, "metadata.db"));
        var runner = new NodeRunner(registry, metadata, new Serverless.Storage.LocalDirectoryBlobStore(Path.Combine(folder, "blobs")));
        host = await DurableTestHost.StartAsync(folder, s => s.AddSingleton(registry).AddSingleton(runner), r => r.AddPipelineOrchestration(() => registry));
        var pipeline = new PipelineDefinition { Name = "named", Nodes = [TestPipelines.Import("import", data), TestPipelines.Count("count", "import")] };
        var input = new PipelineRunStarter(host.Client, registry).Prepare(pipeline, "named-1", trigger: "test");
        await host.Client.ScheduleNewOrchestrationInstanceAsync(PipelineOrchestrator.Name, input, new Microsoft.DurableTask.StartOrchestrationOptions("named-1"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var done = await host.Client.WaitForInstanceCompletionAsync("named-1", getInputsAndOutputs: true, timeout.Token);

        Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed, done.FailureDetails?.ErrorMessage);
        var history = await host.Client.GetOrchestrationHistoryAsync("named-1");
        Assert.Equal(["CsvRowCount", "FileCopy"], history.OfType<TaskScheduledEvent>().Select(e => e.Name).Order(StringComparer.Ordinal));
        await host.DisposeAsync();
        host = null;
    }
}

using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Serverless.Pipelines.Hosting.Triggers;

namespace Serverless.Functions.Tests;

/// <summary>The blob and timer trigger functions' wrappers: deterministic run ids shared with the local triggers, one run per
/// blob version and per occurrence.</summary>
public sealed class TriggerFunctionTests : IDisposable
{
    private readonly TempHome temp = new();

    public void Dispose() => temp.Dispose();

    private static async Task<List<string>> InstanceIdsAsync(FunctionsHost host)
    {
        var ids = new List<string>();
        await foreach (var m in host.Client.GetAllInstancesAsync(new OrchestrationQuery()))
        {
            ids.Add(m.InstanceId);
        }

        return ids;
    }

    [Fact]
    public async Task SameBlobVersionTwice_StartsOneRun_OnTheBlobsData()
    {
        await using var host = await FunctionsHost.StartAsync(temp.Path);
        var triggers = host.Create<TriggerFunctions>();
        var csv = await File.ReadAllBytesAsync(Path.Combine(Repo.Root, "samples", "data", "penguins.csv"));

        var first = await triggers.StartFromBlobAsync("penguins_data", "penguins.csv", "\"0x8DC1\"", csv, host.Client);
        var again = await triggers.StartFromBlobAsync("penguins_data", "penguins.csv", "\"0x8DC1\"", csv, host.Client);

        Assert.Equal(BlobTriggerService.RunIdFor("penguins_data", "incoming/penguins_data/penguins.csv", "\"0x8DC1\""), first);
        Assert.Null(again);
        Assert.Equal([first!], await InstanceIdsAsync(host));
        // The data was copied where the local trigger keeps incoming blobs, and the run read it.
        Assert.NotNull(await host.Runtime.Blobs.GetPropertiesAsync("incoming/penguins_data/penguins.csv"));
        var done = await host.CompletedAsync(first!);
        Assert.StartsWith("blob:incoming/penguins_data/penguins.csv@", done.ReadInputAs<Serverless.Pipelines.Orchestration.PipelineRunInput>()!.Trigger, StringComparison.Ordinal);

        var newVersion = await triggers.StartFromBlobAsync("penguins_data", "penguins.csv", "\"0x8DC2\"", csv, host.Client);
        Assert.NotNull(newVersion);
        Assert.NotEqual(first, newVersion);
    }

    [Fact]
    public async Task BlobForUnknownPipeline_StartsNothing()
    {
        await using var host = await FunctionsHost.StartAsync(temp.Path);
        var triggers = host.Create<TriggerFunctions>();

        Assert.Null(await triggers.StartFromBlobAsync("nope", "x.csv", "\"1\"", [1, 2, 3], host.Client));
        Assert.Null(await triggers.StartFromBlobAsync("bad name!", "x.csv", "\"1\"", [1, 2, 3], host.Client));
        Assert.Empty(await InstanceIdsAsync(host));
    }

    [Theory]
    [InlineData("{\"ETag\":\"\\\"0x8DC\\\"\",\"ContentLength\":3}", "\"0x8DC\"")]
    [InlineData("{\"eTag\":\"0x1\"}", "0x1")]
    [InlineData("{\"ContentLength\":3}", null)]
    [InlineData("not json", null)]
    public void ETagOf_ReadsTheBlobPropertiesOfTheBindingData(string properties, string? expected)
    {
        Assert.Equal(expected, TriggerFunctions.ETagOf(new Dictionary<string, object?> { ["Properties"] = properties }));
        Assert.Equal(expected, TriggerFunctions.ETagOf(new Dictionary<string, object?> { ["Properties"] = properties.StartsWith('{') ? JsonDocument.Parse(properties).RootElement : properties }));
    }

    [Fact]
    public void ETagOf_NoProperties_IsNull() => Assert.Null(TriggerFunctions.ETagOf(new Dictionary<string, object?>()));

    [Fact]
    public async Task SameOccurrenceTwice_StartsOneRetrainingRun()
    {
        await using var host = await FunctionsHost.StartAsync(temp.Path, new Dictionary<string, string?> { ["RetrainPipeline"] = "penguins", ["RetrainSchedule"] = "0 0 3 * * *" });
        var triggers = host.Create<TriggerFunctions>();
        var occurrence = new DateTime(2026, 12, 3, 3, 0, 0, DateTimeKind.Utc);

        var first = await triggers.RetrainAsync(occurrence, host.Client);
        var again = await triggers.RetrainAsync(occurrence, host.Client);

        Assert.Equal(TimerTriggerService.RunIdFor("penguins", occurrence), first);
        Assert.Equal("penguins-timer-20261203-030000", first);
        Assert.Null(again);
        await host.CompletedAsync(first!);
        Assert.NotEqual(first, await triggers.RetrainAsync(occurrence.AddDays(1), host.Client));
    }

    [Fact]
    public async Task Retrain_WithoutPipelineSetting_StartsNothing()
    {
        await using var host = await FunctionsHost.StartAsync(temp.Path);
        Assert.Null(await host.Create<TriggerFunctions>().RetrainAsync(DateTime.UtcNow, host.Client));
        Assert.Empty(await InstanceIdsAsync(host));
    }

    [Fact]
    public void OccurrenceOf_IsTheDueOccurrenceTheHostHandsOver()
    {
        var now = new DateTime(2026, 12, 3, 3, 0, 7, DateTimeKind.Utc);
        var due = new DateTime(2026, 12, 3, 3, 0, 0, DateTimeKind.Utc);
        var timer = new TimerInfo { ScheduleStatus = new Microsoft.Azure.Functions.Worker.ScheduleStatus { Last = due.AddDays(-1), Next = due, LastUpdated = due.AddDays(-1) } };
        Assert.Equal(due, TriggerFunctions.OccurrenceOf(timer, now));
        Assert.Equal(due, TriggerFunctions.OccurrenceOf(timer, now.AddSeconds(30))); // a redelivery: same occurrence

        var unmonitored = new TimerInfo();
        Assert.Equal(due, TriggerFunctions.OccurrenceOf(unmonitored, now));
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Pipelines.Hosting;
using Serverless.Metadata;
using Serverless.Storage;

namespace Serverless.FunctionApp.Tests;

/// <summary>The function app's pipeline routes and triggers against the running app on loopback (real Kestrel, SQLite, local blobs).</summary>
public sealed class PipelineAppTests : IDisposable
{
    private readonly string home = Directory.CreateTempSubdirectory("app-home-").FullName;
    private readonly string pipelines;

    public PipelineAppTests()
    {
        pipelines = Path.Combine(home, "pipelines");
        Repo.CopySample(pipelines);
        File.WriteAllText(Path.Combine(pipelines, "gated.yaml"), """
            name: gated
            nodes:
              - id: import
                component: FileCopy
                parameters: { source: data/penguins.csv }
              - id: count
                component: CsvRowCount
                inputs: { examples: import.examples }
                approval: { event: approve-count, timeout: 1h }
            """);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(home, true); } catch (IOException) { }
    }

    private PipelineHostOptions Options(TimerTriggerOptions? timer = null)
    {
        var o = PipelineHostOptions.Defaults(home);
        o.BlobTrigger.PollInterval = TimeSpan.FromMilliseconds(100);
        o.TimerPollInterval = TimeSpan.FromMilliseconds(50);
        if (timer is not null) o.Timers.Add(timer);
        return o;
    }

    private Task<TestApp> StartAsync(PipelineHostOptions options, TimeProvider? time = null) => TestApp.StartAsync(home, options, time);

    private static string NodeState(JsonObject run, string node) => TestApp.NodeState(run, node);

    [Fact]
    public async Task PostRun_NamedPipeline_CompletesThenSecondRunCachedAndListed()
    {
        var app = await StartAsync(Options());
        try
        {
            var start = await app.Http.PostAsJsonAsync("/api/pipelines/penguins/runs", new { runId = "http-1" });
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
            var done = await app.WaitForRunAsync("http-1");
            Assert.Equal("Succeeded", done["state"]!.GetValue<string>());
            Assert.Equal("COMPLETE", NodeState(done, "count").ToUpperInvariant());
            var artifacts = done["run"]!["Nodes"]!.AsArray().Single(n => n!["Node"]!.GetValue<string>() == "count")!["Artifacts"]!.AsObject();
            Assert.StartsWith("penguins/count/statistics/http-1-", artifacts["statistics"]!.GetValue<string>(), StringComparison.Ordinal);

            await app.Http.PostAsJsonAsync("/api/pipelines/penguins/runs", new { runId = "http-2" });
            var cached = await app.WaitForRunAsync("http-2");
            Assert.All(new[] { "import", "count", "count_raw" }, n => Assert.Equal("Cached", NodeState(cached, n)));
            var runs = await app.RunsAsync();
            Assert.Equal(["http-1", "http-2"], runs.Select(r => r["Id"]!.GetValue<string>()).Order());
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task PostRun_BadInput_ErrorsAndNothingStarted()
    {
        var app = await StartAsync(Options());
        try
        {
            var missing = await app.Http.PostAsJsonAsync("/api/pipelines/penguins/runs", new { data = "/no/such/data.csv" });
            Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
            Assert.Contains("/no/such/data.csv", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            var unknown = await app.Http.PostAsJsonAsync("/api/pipelines/nope/runs", new { });
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Empty(await app.RunsAsync());
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task ApproveAndReject_GatedRuns_ContinueOrEndRejected()
    {
        var app = await StartAsync(Options());
        try
        {
            await app.Http.PostAsJsonAsync("/api/pipelines/gated/runs", new { runId = "gate-ok" });
            await app.Http.PostAsJsonAsync("/api/pipelines/gated/runs", new { runId = "gate-no" });
            await app.WaitForRunAsync("gate-ok", r => NodeState(r, "count") == "WaitingForApproval");
            await app.WaitForRunAsync("gate-no", r => NodeState(r, "count") == "WaitingForApproval");
            Assert.Equal(HttpStatusCode.Accepted, (await app.Http.PostAsJsonAsync("/api/runs/gate-ok/approve", new { comment = "fine" })).StatusCode);
            Assert.Equal(HttpStatusCode.Accepted, (await app.Http.PostAsJsonAsync("/api/runs/gate-no/reject", new { comment = "not today" })).StatusCode);
            var ok = await app.WaitForRunAsync("gate-ok");
            var no = await app.WaitForRunAsync("gate-no");
            Assert.Equal("Succeeded", ok["state"]!.GetValue<string>());
            Assert.Equal("Rejected", no["state"]!.GetValue<string>());
            Assert.Contains("not today", no["message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Conflict, (await app.Http.PostAsync("/api/runs/gate-ok/approve", null)).StatusCode);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Cancel_WaitingRun_Terminated()
    {
        var app = await StartAsync(Options());
        try
        {
            await app.Http.PostAsJsonAsync("/api/pipelines/gated/runs", new { runId = "to-cancel" });
            await app.WaitForRunAsync("to-cancel", r => NodeState(r, "count") == "WaitingForApproval");
            Assert.Equal(HttpStatusCode.Accepted, (await app.Http.PostAsync("/api/runs/to-cancel/cancel", null)).StatusCode);
            var ended = await app.WaitForRunAsync("to-cancel");
            Assert.Equal("Terminated", ended["runtimeStatus"]!.GetValue<string>());
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task BlobTrigger_NewBlob_StartsExactlyOneRunPerVersionAcrossRestarts()
    {
        var options = Options();
        var blobs = new LocalDirectoryBlobStore(options.BlobRoot);
        var data = await File.ReadAllBytesAsync(Path.Combine(pipelines, "data", "penguins.csv"));
        var app = await StartAsync(options);
        try
        {
            await blobs.UploadAsync("incoming/penguins/batch-1.csv", new MemoryStream(data));
            var deadline = DateTime.UtcNow.AddSeconds(30);
            List<JsonObject> runs;
            while ((runs = await app.RunsAsync()).Count == 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
            var run = Assert.Single(runs);
            Assert.StartsWith("blob:incoming/penguins/batch-1.csv@", run["Trigger"]!.GetValue<string>(), StringComparison.Ordinal);
            var done = await app.WaitForRunAsync(run["Id"]!.GetValue<string>());
            Assert.Equal("Succeeded", done["state"]!.GetValue<string>());
            await Task.Delay(500); // several more scans
            Assert.Single(await app.RunsAsync());
        }
        finally
        {
            await app.DisposeAsync();
        }

        // Restart: the receipt keeps the same version from starting again; a new version (new ETag) starts one more run.
        app = await StartAsync(options);
        try
        {
            await Task.Delay(500);
            Assert.Single(await app.RunsAsync());
            await blobs.UploadAsync("incoming/penguins/batch-1.csv", new MemoryStream([.. data, .. "Adelie,x,1,1,1,1,male,2009\n"u8.ToArray()]));
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((await app.RunsAsync()).Count < 2 && DateTime.UtcNow < deadline) await Task.Delay(50);
            await Task.Delay(500);
            Assert.Equal(2, (await app.RunsAsync()).Count);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task TimerTrigger_FakeClock_FiresEachOccurrenceOnceAcrossRestartsAndUsesLatestData()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 1, 5, 2, 59, 58, TimeSpan.Zero));
        var options = Options(new TimerTriggerOptions { Name = "nightly", Pipeline = "penguins", Schedule = "0 0 3 * * *" });
        options.BlobTrigger.Enabled = false; // the uploaded file is only the timer's "latest data" here
        var blobs = new LocalDirectoryBlobStore(options.BlobRoot);
        var latest = "species,x\nA,1\n"u8.ToArray();
        await blobs.UploadAsync("incoming/penguins/latest.csv", new MemoryStream(latest));
        var app = await StartAsync(options, time);
        try
        {
            await Task.Delay(300);
            Assert.Empty(await app.RunsAsync());
            var schedules = await app.Http.GetFromJsonAsync<JsonArray>("/api/schedules");
            Assert.Equal("2026-01-05T03:00:00Z", schedules![0]!["next"]!.GetValue<DateTime>().ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
            time.Set(new DateTimeOffset(2026, 1, 5, 3, 0, 1, TimeSpan.Zero));
            var run = await app.WaitForRunAsync("penguins-timer-20260105-030000");
            Assert.Equal("Succeeded", run["state"]!.GetValue<string>());
            // Retrained on the latest data: the uploaded file (1 data row), not the pipeline's own 344 rows.
            var runtime = app.App.Services.GetRequiredService<PipelineRuntime>();
            var count = (await runtime.Metadata.GetExecutionsOfRunAsync("penguins-timer-20260105-030000")).Single(e => e.Type == "CsvRowCount" && e.Name!.EndsWith("-count", StringComparison.Ordinal));
            var io = await runtime.Metadata.GetExecutionIoAsync(count.Id);
            Assert.Equal(1, io.Outputs.Single().Artifact.CustomProperties["row_count"].IntValue);
        }
        finally
        {
            await app.DisposeAsync();
        }

        // Restart within the same day: no double. Then down across the next 03:00: the past-due occurrence fires once.
        time.Set(new DateTimeOffset(2026, 1, 5, 3, 0, 5, TimeSpan.Zero));
        app = await StartAsync(options, time);
        try
        {
            await Task.Delay(400);
            Assert.Single(await app.RunsAsync());
        }
        finally
        {
            await app.DisposeAsync();
        }

        time.Set(new DateTimeOffset(2026, 1, 6, 9, 30, 0, TimeSpan.Zero));
        app = await StartAsync(options, time);
        try
        {
            var run = await app.WaitForRunAsync("penguins-timer-20260106-030000");
            Assert.Equal("Succeeded", run["state"]!.GetValue<string>());
            await Task.Delay(400);
            Assert.Equal(2, (await app.RunsAsync()).Count);
            var schedules = await app.Http.GetFromJsonAsync<JsonArray>("/api/schedules");
            Assert.Equal(new DateTime(2026, 1, 7, 3, 0, 0, DateTimeKind.Utc), schedules![0]!["next"]!.GetValue<DateTime>().ToUniversalTime());
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}

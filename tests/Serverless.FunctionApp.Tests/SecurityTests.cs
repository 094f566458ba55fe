using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Serverless.Pipelines.Hosting;
using Serverless.Metadata;
using Serverless.Storage;

namespace Serverless.FunctionApp.Tests;

/// <summary>
/// Issue 18 through the HTTP API of the running app (Kestrel on 127.0.0.1, SQLite, local blobs): what a request may set,
/// where a run may read and write, and that bad input is refused before any side effect.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SecurityTests : IDisposable
{
    private readonly string home = Directory.CreateTempSubdirectory("app-sec-").FullName;
    private readonly string pipelines;
    private readonly string outsideFile;

    public SecurityTests()
    {
        pipelines = Path.Combine(home, "pipelines");
        Repo.CopySample(pipelines);
        File.Copy(Path.Combine(Repo.Samples, "penguins_full.yaml"), Path.Combine(pipelines, "penguins_full.yaml"));
        outsideFile = Path.Combine(Directory.CreateTempSubdirectory("app-sec-outside-").FullName, "secret.csv");
        File.WriteAllText(outsideFile, "species,x\nA,1\n");
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(home, true); } catch (IOException) { }
        try { Directory.Delete(Path.GetDirectoryName(outsideFile)!, true); } catch (IOException) { }
    }

    private PipelineHostOptions Options()
    {
        var o = PipelineHostOptions.Defaults(home);
        o.BlobTrigger.Enabled = false;
        return o;
    }

    private static async Task<string> ErrorsAsync(HttpResponseMessage response) => await response.Content.ReadAsStringAsync();

    [Theory]
    [InlineData("infra_validator.model_server", "/tmp/evil.sh", "model_server")] // a program: no such parameter any more
    [InlineData("pusher.push_destination", "/tmp/anywhere", "operator setting")]
    [InlineData("trainer.checkpoint_dir", "/tmp/anywhere", "operator setting")]
    [InlineData("transform.spec", "features: []", "operator setting")]
    [InlineData("example_gen.input_base", "/etc", "operator setting")]
    [InlineData("example_gen.max_record_bytes", "1073741824", "resource limit")]
    [InlineData("example_gen.input_pattern", "../../../../etc/passwd", "'..' segment")]
    public async Task PostRun_RequestSetsOperatorSettingOrEscapingPattern_400NamesParameterNothingStarted(string key, string value, string expected)
    {
        await using var app = await TestApp.StartAsync(home, Options());

        using var response = await app.Http.PostAsJsonAsync("/api/pipelines/penguins_full/runs", new { parameters = new Dictionary<string, string> { [key] = value } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await ErrorsAsync(response);
        Assert.Contains(key[(key.IndexOf('.') + 1)..], body, StringComparison.Ordinal);
        Assert.Contains(expected, body, StringComparison.Ordinal);
        Assert.Empty(await app.RunsAsync());
    }

    [Fact]
    public async Task PostRun_DataOutsideInputRoots_400NamesParameterAndRootsNothingCopied()
    {
        await using var app = await TestApp.StartAsync(home, Options());

        using var response = await app.Http.PostAsJsonAsync("/api/pipelines/penguins/runs", new { data = outsideFile });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await ErrorsAsync(response);
        Assert.Contains("parameters.source", body, StringComparison.Ordinal);
        Assert.Contains("outside the allowed input roots", body, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(home, "data"), body, StringComparison.Ordinal);
        Assert.Empty(await app.RunsAsync());
        Assert.False(Directory.Exists(Path.Combine(home, "blobs", "penguins")));
    }

    [Fact]
    public async Task PostRun_SafeParameterAndDataInsideRoot_Runs()
    {
        Directory.CreateDirectory(Path.Combine(home, "data"));
        var inside = Path.Combine(home, "data", "more.csv");
        File.Copy(outsideFile, inside);
        await using var app = await TestApp.StartAsync(home, Options());

        using var response = await app.Http.PostAsJsonAsync("/api/pipelines/penguins/runs", new { runId = "inside", data = inside, parameters = new Dictionary<string, string> { ["count.has_header"] = "true" } });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("Succeeded", (await app.WaitForRunAsync("inside"))["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task DurableApiStart_PipelineOrchestratorWithWholeDefinition_403NothingRunsOrCopied()
    {
        await using var app = await TestApp.StartAsync(home, Options());
        var input = new JsonObject
        {
            ["Pipeline"] = new JsonObject
            {
                ["Name"] = "steal",
                ["Nodes"] = new JsonArray(new JsonObject { ["Id"] = "import", ["Component"] = "FileCopy", ["Parameters"] = new JsonObject { ["source"] = outsideFile } }),
            },
            ["RunId"] = "steal-1",
        };

        using var response = await app.Http.PostAsJsonAsync("/runtime/webhooks/durabletask/orchestrators/RunPipeline/steal-1", input);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("/api/pipelines/", (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        await Task.Delay(300);
        Assert.Equal(HttpStatusCode.NotFound, (await app.Http.GetAsync("/runtime/webhooks/durabletask/instances/steal-1")).StatusCode);
        var names = new List<string>();
        await foreach (var blob in new LocalDirectoryBlobStore(Options().BlobRoot).ListAsync("steal/")) names.Add(blob.Name);
        Assert.Empty(names);
    }

    [Fact]
    public async Task DurableApiRestart_FinishedPipelineRun_403AndNoNewStart()
    {
        await using var app = await TestApp.StartAsync(home, Options());
        using var start = await app.Http.PostAsJsonAsync("/api/pipelines/penguins/runs", new { runId = "again-1" });
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var done = await app.WaitForRunAsync("again-1");
        var created = done["createdAt"]!.GetValue<DateTimeOffset>();

        // Restart would re-submit the stored (trusted) input outside the pipeline API: refused like a start.
        using var restart = await app.Http.PostAsync("/runtime/webhooks/durabletask/instances/again-1/restart", null);
        using var restartNew = await app.Http.PostAsync("/runtime/webhooks/durabletask/instances/again-1/restart?restartWithNewInstanceId=true", null);

        Assert.Equal(HttpStatusCode.Forbidden, restart.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, restartNew.StatusCode);
        Assert.Single(await app.RunsAsync());
        var after = await app.WaitForRunAsync("again-1");
        Assert.Equal(created, after["createdAt"]!.GetValue<DateTimeOffset>());
    }

    [Fact]
    public async Task PostRun_RunIdLeavingDownloadFolderWithDataBlob_400NothingWritten()
    {
        var victim = Directory.CreateTempSubdirectory("app-sec-victim-").FullName;
        var existing = Path.Combine(victim, "evil.csv");
        await File.WriteAllTextAsync(existing, "keep");
        await new LocalDirectoryBlobStore(Options().BlobRoot).UploadAsync("uploads/evil.csv", new MemoryStream("species,x\nA,1\n"u8.ToArray()));
        await using var app = await TestApp.StartAsync(home, Options());
        try
        {
            foreach (var runId in new[] { victim, "../../escape", "a/b", "." })
            {
                using var response = await app.Http.PostAsJsonAsync("/api/pipelines/penguins/runs", new { runId, dataBlob = "uploads/evil.csv" });

                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                Assert.Contains("runId", await ErrorsAsync(response), StringComparison.Ordinal);
            }

            Assert.Equal("keep", await File.ReadAllTextAsync(existing));
            Assert.False(File.Exists(Path.GetFullPath(Path.Combine(home, "triggered", "../../escape/evil.csv"))));
            Assert.False(Directory.Exists(Path.Combine(home, "triggered")) && Directory.EnumerateFileSystemEntries(Path.Combine(home, "triggered")).Any());
            Assert.Empty(await app.RunsAsync());
        }
        finally
        {
            Directory.Delete(victim, true);
        }
    }

    [Theory]
    [InlineData("a\\b")]
    [InlineData("../x.csv")]
    [InlineData("incoming//x.csv")]
    [InlineData("bad\u0001name.csv")]
    public async Task PostRun_InvalidDataBlobName_400JsonNamingTheField(string blob)
    {
        await using var app = await TestApp.StartAsync(home, Options());

        using var response = await app.Http.PostAsJsonAsync("/api/pipelines/penguins/runs", new { dataBlob = blob });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Contains("dataBlob", body!["errors"]![0]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostRun_DataBlobButInvalidParameter_400AndNoCopyLeftBehind()
    {
        await new LocalDirectoryBlobStore(Options().BlobRoot).UploadAsync("uploads/ok.csv", new MemoryStream("species,x\nA,1\n"u8.ToArray()));
        await using var app = await TestApp.StartAsync(home, Options());

        using var badParameter = await app.Http.PostAsJsonAsync("/api/pipelines/penguins/runs", new { runId = "r1", dataBlob = "uploads/ok.csv", parameters = new Dictionary<string, string> { ["count.has_header"] = "maybe" } });
        using var badFrom = await app.Http.PostAsJsonAsync("/api/pipelines/penguins/runs", new { runId = "r2", dataBlob = "uploads/ok.csv", from = "nope" });

        Assert.Equal(HttpStatusCode.BadRequest, badParameter.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badFrom.StatusCode);
        var downloads = Path.Combine(home, "triggered");
        Assert.Empty(Directory.Exists(downloads) ? Directory.EnumerateFiles(downloads, "*", SearchOption.AllDirectories) : []);
    }

    [Fact]
    public async Task Start_NoKeyConfigured_GeneratesPrivateKeyFileAndEveryRouteNeedsIt()
    {
        string key;
        await using (var app = await TestApp.StartAsync(home, Options(), configure: o => o.AccessKey = null))
        {
            var keyFile = Path.Combine(home, "access-key");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            key = (await File.ReadAllTextAsync(keyFile)).Trim();
            Assert.True(key.Length >= 43, key);
            Assert.Equal(key, app.Service<HostAccessKey>().Key);
            foreach (var path in new[] { "/api/runs", "/api/pipelines", "/api/schedules", "/runtime/webhooks/durabletask/instances" })
            {
                using var denied = await app.Http.GetAsync(path);
                Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
                using var wrong = new HttpRequestMessage(HttpMethod.Get, path);
                wrong.Headers.Add("x-functions-key", key[..^1] + (key[^1] == 'a' ? 'b' : 'a')); // same length, last character differs
                Assert.Equal(HttpStatusCode.Unauthorized, (await app.Http.SendAsync(wrong)).StatusCode);
                using var allowed = new HttpRequestMessage(HttpMethod.Get, path);
                allowed.Headers.Add("x-functions-key", key);
                Assert.Equal(HttpStatusCode.OK, (await app.Http.SendAsync(allowed)).StatusCode);
            }

            using var start = await app.Http.PostAsJsonAsync("/api/pipelines/penguins/runs", new { runId = "anonymous" });
            Assert.Equal(HttpStatusCode.Unauthorized, start.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await app.Http.GetAsync($"/api/runs/anonymous?code={Uri.EscapeDataString(key)}")).StatusCode);
        }

        // A restart keeps the key.
        await using (var again = await TestApp.StartAsync(home, Options(), configure: o => o.AccessKey = null))
        {
            Assert.Equal(key, again.Service<HostAccessKey>().Key);
            Assert.False(again.Service<HostAccessKey>().Generated);
        }
    }

    [Fact]
    public async Task PostRun_PipelineFileNested100000Deep_400NamingFileLineNoCrashAndCliSame()
    {
        var deep = Path.Combine(pipelines, "deep.yaml");
        await File.WriteAllTextAsync(deep, "name: deep\nnodes: " + new string('[', 100_000) + new string(']', 100_000) + "\n");
        await using (var app = await TestApp.StartAsync(home, Options()))
        {
            using var start = await app.Http.PostAsJsonAsync("/api/pipelines/deep/runs", new { });
            Assert.Equal(HttpStatusCode.BadRequest, start.StatusCode);
            Assert.Contains($"{deep}:2:", await start.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            using var list = await app.Http.GetAsync("/api/pipelines");
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            Assert.DoesNotContain("\"deep\"", await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var stderr = new StringWriter();
        var code = await Serverless.Pipelines.Hosting.Cli.CliApp.RunAsync(["run", deep, "--home", home], TextWriter.Null, stderr);
        Assert.Equal(1, code);
        Assert.Contains($"{deep}:2:", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("nested deeper than 32", stderr.ToString(), StringComparison.Ordinal);
    }

    private PipelineHostOptions OptionsWithSleep(string log, double seconds)
    {
        var o = Options();
        o.ComponentAssemblies.Add(typeof(SleepComponent).Assembly.Location);
        Repo.WriteSleepPipeline(pipelines, "slow", seconds, log);
        return o;
    }

    private static async Task WaitForLineAsync(string log, string line, int count = 1)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!File.Exists(log) || (await File.ReadAllLinesAsync(log)).Count(l => l == line) < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"'{line}' x{count} never appeared in {log}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Cancel_RunningNode_ExecutorStopsAndExecutionIsCanceled()
    {
        var log = Path.Combine(home, "cancel.log");
        await using var app = await TestApp.StartAsync(home, OptionsWithSleep(log, 120));
        Assert.Equal(HttpStatusCode.Accepted, (await app.Http.PostAsJsonAsync("/api/pipelines/slow/runs", new { runId = "to-stop" })).StatusCode);
        await WaitForLineAsync(log, "start hog");

        Assert.Equal(HttpStatusCode.Accepted, (await app.Http.PostAsync("/api/runs/to-stop/cancel", null)).StatusCode);

        var runtime = app.Service<PipelineRuntime>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        Execution hog;
        while ((hog = (await runtime.Metadata.GetExecutionsOfRunAsync("to-stop")).Single(e => e.Type == "Sleep")).State != ExecutionState.Canceled)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the node still runs after cancel: {hog.State}");
            await Task.Delay(50);
        }

        Assert.Equal("Terminated", (await app.WaitForRunAsync("to-stop"))["runtimeStatus"]!.GetValue<string>());
        Assert.DoesNotContain("end hog", await File.ReadAllLinesAsync(log));
    }

    [Fact]
    public async Task Cancel_RunWhoseNodeDiedWithItsProcess_NodeNeverStartsAgainAfterRestartOrPurge()
    {
        var log = Path.Combine(home, "zombie.log");
        var options = OptionsWithSleep(log, 120);

        // A CLI process runs the pipeline and is killed (SIGKILL) in the node: its activity stays queued for redelivery.
        var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "pipelines.dll"), "run", Path.Combine(pipelines, "slow.yaml"), "--run-id", "zombie", "--home", home }) info.ArgumentList.Add(a);
        info.Environment["SERVERLESS_COMPONENTS"] = typeof(SleepComponent).Assembly.Location;
        using (var cli = System.Diagnostics.Process.Start(info)!)
        {
            try
            {
                await WaitForLineAsync(log, "start hog");
            }
            finally
            {
                cli.Kill();
                await cli.WaitForExitAsync();
            }
        }

        // Canceled through an app that runs no worker (so nothing can pick the activity up first).
        await using (var front = await TestApp.StartAsync(home, options, configure: o => o.RunWorker = false))
        {
            Assert.Equal(HttpStatusCode.Accepted, (await front.Http.PostAsync("/api/runs/zombie/cancel", null)).StatusCode);
        }

        // A full app on the same home: the activity's lock (5 s, the built-in workItemLockTimeout) expires and it is redelivered, but the node does not start.
        await using (var app = await TestApp.StartAsync(home, options))
        {
            await Task.Delay(TimeSpan.FromSeconds(12));
            Assert.Single(await File.ReadAllLinesAsync(log), "start hog");
            using var purge = await app.Http.DeleteAsync("/runtime/webhooks/durabletask/instances/zombie");
            Assert.Equal(HttpStatusCode.OK, purge.StatusCode);
        }

        await using (var again = await TestApp.StartAsync(home, options))
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.Equal(["start hog"], await File.ReadAllLinesAsync(log));
            Assert.Equal(HttpStatusCode.NotFound, (await again.Http.GetAsync("/api/runs/zombie")).StatusCode);
        }
    }

    private void WriteGated(string log, double seconds) =>
        File.AppendAllText(Repo.WriteSleepPipeline(pipelines, "gated", seconds, log), "\n" + """
              - id: count
                component: CsvRowCount
                inputs: { examples: hog.examples }
                approval: { event: approve-count, timeout: 1h }

            """);

    [Fact]
    public async Task Approve_20ConcurrentRequests_Exactly202OnceAndOneEventInHistory()
    {
        var log = Path.Combine(home, "gate.log");
        var options = OptionsWithSleep(log, 0);
        WriteGated(log, 0);
        await using var app = await TestApp.StartAsync(home, options);
        await app.Http.PostAsJsonAsync("/api/pipelines/gated/runs", new { runId = "gate-20" });
        await app.WaitForRunAsync("gate-20", r => TestApp.NodeState(r, "count") == "WaitingForApproval");

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            using var response = await app.Http.PostAsJsonAsync("/api/runs/gate-20/approve", new { comment = $"approver {i}" });
            return response.StatusCode;
        }));

        Assert.Equal(1, answers.Count(a => a == HttpStatusCode.Accepted));
        Assert.Equal(19, answers.Count(a => a == HttpStatusCode.Conflict));
        Assert.Equal("Succeeded", (await app.WaitForRunAsync("gate-20"))["state"]!.GetValue<string>());
        var history = (await app.Http.GetFromJsonAsync<JsonObject>("/runtime/webhooks/durabletask/instances/gate-20?showHistory=true"))!["historyEvents"]!.AsArray();
        Assert.Single(history, e => e!["EventType"]!.GetValue<string>() == "EventRaised" && e["Name"]!.GetValue<string>() == "approve-count");
    }

    [Fact]
    public async Task Approve_WhileNoGateWaits_409AndAnEarlyRawEventDoesNotApproveTheGateLater()
    {
        var log = Path.Combine(home, "early.log");
        var options = OptionsWithSleep(log, 2);
        WriteGated(log, 2);
        await using var app = await TestApp.StartAsync(home, options);
        await app.Http.PostAsJsonAsync("/api/pipelines/gated/runs", new { runId = "gate-early" });
        await WaitForLineAsync(log, "start hog");

        using var early = await app.Http.PostAsJsonAsync("/api/runs/gate-early/approve", new { comment = "too early" });
        using var named = await app.Http.PostAsJsonAsync("/api/runs/gate-early/approve", new { @event = "approve-count" });
        using var raw = await app.Http.PostAsJsonAsync("/runtime/webhooks/durabletask/instances/gate-early/raiseEvent/approve-count", new { Approved = true, Comment = "raw" });

        Assert.Equal(HttpStatusCode.Conflict, early.StatusCode);
        Assert.Contains("waiting for approval", (await early.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, named.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, raw.StatusCode); // the management API raises it; the orchestrator ignores it
        await app.WaitForRunAsync("gate-early", r => TestApp.NodeState(r, "count") == "WaitingForApproval");
        await Task.Delay(1000);
        Assert.Equal("WaitingForApproval", TestApp.NodeState(await app.WaitForRunAsync("gate-early", _ => true), "count"));
        Assert.Equal(HttpStatusCode.Accepted, (await app.Http.PostAsJsonAsync("/api/runs/gate-early/reject", new { comment = "now" })).StatusCode);
        var done = await app.WaitForRunAsync("gate-early");
        Assert.Equal("Rejected", done["state"]!.GetValue<string>());
        Assert.Contains("now", done["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private async Task<List<JsonObject>> WaitForRunCountAsync(TestApp app, int count, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        List<JsonObject> runs;
        while ((runs = await app.RunsAsync()).Count < count && DateTime.UtcNow < deadline) await Task.Delay(50);
        return runs;
    }

    private PipelineHostOptions TriggerOptions(TimeSpan settle)
    {
        var o = PipelineHostOptions.Defaults(home);
        o.BlobTrigger.PollInterval = TimeSpan.FromMilliseconds(100);
        o.BlobTrigger.SettleInterval = settle;
        return o;
    }

    [Fact]
    public async Task BlobTrigger_BadAndOverlongNames_FailedReceiptsAndEveryOtherBlobStillRuns()
    {
        var options = TriggerOptions(TimeSpan.Zero);
        var incoming = Path.Combine(options.BlobRoot, "incoming", "penguins");
        var data = await File.ReadAllBytesAsync(Path.Combine(pipelines, "data", "penguins.csv"));
        Directory.CreateDirectory(incoming);
        // Written by another tool straight into the folder: names the store cannot address, and valid but long ones.
        await File.WriteAllBytesAsync(Path.Combine(incoming, "back\\slash.csv"), data);
        await File.WriteAllBytesAsync(Path.Combine(incoming, "control\u0001char.csv"), data);
        var deep = Path.Combine(incoming, new string('d', 200), new string('e', 200), new string('f', 200), new string('g', 200));
        Directory.CreateDirectory(deep);
        await File.WriteAllBytesAsync(Path.Combine(deep, new string('h', 200 - 8) + ".csv"), data); // a valid name of about 1,004 characters
        await File.WriteAllBytesAsync(Path.Combine(incoming, new string('l', 246) + ".csv"), data); // 250 bytes: its ".partial" would not fit
        await File.WriteAllBytesAsync(Path.Combine(incoming, "good.csv"), data);
        await using var app = await TestApp.StartAsync(home, options);

        var runs = await WaitForRunCountAsync(app, 3);
        await Task.Delay(500);
        runs = await app.RunsAsync();

        Assert.Equal(3, runs.Count);
        foreach (var run in runs) Assert.Equal("Succeeded", (await app.WaitForRunAsync(run["Id"]!.GetValue<string>()))["state"]!.GetValue<string>());
        var receipts = new List<BlobItemProperties>();
        await foreach (var r in app.Service<PipelineRuntime>().Blobs.ListAsync("_receipts/blobtrigger/")) receipts.Add(r);
        Assert.Equal(5, receipts.Count);
        Assert.Equal(2, receipts.Count(r => r.Metadata.ContainsKey("error")));
        await new LocalDirectoryBlobStore(options.BlobRoot).UploadAsync("incoming/penguins/later.csv", new MemoryStream(data));
        Assert.Equal(4, (await WaitForRunCountAsync(app, 4)).Count);
    }

    [Fact]
    public async Task BlobTrigger_FileStillBeingWritten_OneRunOnTheWholeFile()
    {
        var options = TriggerOptions(TimeSpan.FromSeconds(1.5));
        var lines = await File.ReadAllLinesAsync(Path.Combine(pipelines, "data", "penguins.csv"));
        var target = Path.Combine(options.BlobRoot, "incoming", "penguins", "growing.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        await using var app = await TestApp.StartAsync(home, options);

        await using (var writer = new StreamWriter(target))
        {
            foreach (var chunk in lines.Chunk(70))
            {
                foreach (var line in chunk) await writer.WriteLineAsync(line);
                await writer.FlushAsync();
                await Task.Delay(400); // several scans see every partial version
            }
        }

        var runs = await WaitForRunCountAsync(app, 1);
        await Task.Delay(2500);
        var run = Assert.Single(await app.RunsAsync());
        var id = run["Id"]!.GetValue<string>();
        Assert.Equal("Succeeded", (await app.WaitForRunAsync(id))["state"]!.GetValue<string>());
        var metadata = app.Service<PipelineRuntime>().Metadata;
        var count = (await metadata.GetExecutionsOfRunAsync(id)).Single(e => e.Type == "CsvRowCount" && e.Name!.EndsWith("-count", StringComparison.Ordinal));
        Assert.Equal(lines.Length - 1, (await metadata.GetExecutionIoAsync(count.Id)).Outputs.Single().Artifact.CustomProperties["row_count"].IntValue);
    }

    [Fact]
    public async Task BlobTrigger_CsvExampleGenPipeline_RunsOnTheUploadedFile()
    {
        File.Copy(Path.Combine(Repo.Samples, "penguins_data.yaml"), Path.Combine(pipelines, "penguins_data.yaml"));
        Directory.CreateDirectory(Path.Combine(pipelines, "data"));
        var options = TriggerOptions(TimeSpan.Zero);
        var lines = (await File.ReadAllLinesAsync(Path.Combine(pipelines, "data", "penguins.csv"))).Take(201).ToArray(); // 200 rows, not the sample's 344
        await using var app = await TestApp.StartAsync(home, options);

        await new LocalDirectoryBlobStore(options.BlobRoot).UploadAsync("incoming/penguins_data/batch-1.csv", new MemoryStream(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n")));

        var run = Assert.Single(await WaitForRunCountAsync(app, 1));
        var done = await app.WaitForRunAsync(run["Id"]!.GetValue<string>(), seconds: 120);
        Assert.True(done["state"]!.GetValue<string>() == "Succeeded", done.ToJsonString());
        var metadata = app.Service<PipelineRuntime>().Metadata;
        var gen = (await metadata.GetExecutionsOfRunAsync(run["Id"]!.GetValue<string>())).Single(e => e.Type == "CsvExampleGen");
        Assert.Equal(200, (await metadata.GetExecutionIoAsync(gen.Id)).Outputs.Single().Artifact.CustomProperties["row_count"].IntValue);
    }

    [Fact]
    public async Task PostRun_OversizedParameterOrBody_ShortErrorNamingTheLimit()
    {
        await using var app = await TestApp.StartAsync(home, Options());

        using var tooLong = await app.Http.PostAsJsonAsync("/api/pipelines/penguins/runs", new { parameters = new Dictionary<string, string> { ["count.has_header"] = new string('y', 100_000) } });
        // Content-Length known and Expect: 100-continue, as a well-behaved client sends a large body: refused unread.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/pipelines/penguins/runs")
        {
            Content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes("{\"parameters\":{\"count.has_header\":\"" + new string('z', 25_000_000) + "\"}}")),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.ExpectContinue = true;
        using var huge = await app.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        var text = await tooLong.Content.ReadAsStringAsync();
        Assert.True(text.Length < 2000, $"{text.Length} characters echoed");
        Assert.Contains("maxParameterLength", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.Contains("maxRequestBytes", await huge.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(await app.RunsAsync());
    }

    [Fact]
    public async Task Run_FreshHome_DatabasesKeysDataCopiesArtifactsAndScratchArePrivate()
    {
        await using (var app = await TestApp.StartAsync(home, Options(), configure: o => o.AccessKey = null))
        {
            await app.Service<PipelineRuntime>().Blobs.UploadAsync("uploads/private.csv", new MemoryStream("species,x\nA,1\n"u8.ToArray()));
            var key = app.Service<HostAccessKey>().Key;
            using var start = new HttpRequestMessage(HttpMethod.Post, "/api/pipelines/penguins/runs") { Content = JsonContent.Create(new { runId = "private", dataBlob = "uploads/private.csv" }) };
            start.Headers.Add("x-functions-key", key);
            Assert.Equal(HttpStatusCode.Accepted, (await app.Http.SendAsync(start)).StatusCode);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                using var status = new HttpRequestMessage(HttpMethod.Get, "/api/runs/private");
                status.Headers.Add("x-functions-key", key);
                using var response = await app.Http.SendAsync(status);
                if (response.StatusCode == HttpStatusCode.OK) break;
                Assert.True(DateTime.UtcNow < deadline, "the run did not end");
                await Task.Delay(50);
            }
        }

        const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        var created = new[] { "metadata.db", "access-key", "durable", "blobs", "triggered", "scratch" }.Select(n => Path.Combine(home, n)).ToList();
        var entries = created.Where(File.Exists)
            .Concat(created.Where(Directory.Exists).SelectMany(d => Directory.EnumerateFileSystemEntries(d, "*", SearchOption.AllDirectories).Append(d)))
            .ToList();
        Assert.Contains(entries, e => e.Contains("triggered", StringComparison.Ordinal) && e.EndsWith("private.csv", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Contains(Path.Combine("blobs", "penguins"), StringComparison.Ordinal));
        Assert.All(entries, e => Assert.True((File.GetUnixFileMode(e) & others) == 0, $"{e} is {File.GetUnixFileMode(e)}"));
    }
}

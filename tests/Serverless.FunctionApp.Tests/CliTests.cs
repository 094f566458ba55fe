using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Pipelines.Hosting.Cli;
using Serverless.Pipelines.Hosting;

namespace Serverless.FunctionApp.Tests;

/// <summary>The main job (the CLI's sample) and the function app host, end to end on loopback.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("cli-home-").FullName;

    [Fact]
    public async Task Sample_FreshHome_RunsWorkflowEndToEndOverHttp()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(["sample", "--home", _home, "--cities", "Oslo,Quito"], stdout, stderr);
        Assert.True(code == 0, stdout + "\n" + stderr);
        var text = stdout.ToString();
        Assert.Contains("Completed", text, StringComparison.Ordinal);
        Assert.Contains("Hello Oslo!", text, StringComparison.Ordinal);
        Assert.Contains("Hello Quito!", text, StringComparison.Ordinal);
        var letters = "Hello Oslo!Hello Quito!".Count(char.IsLetter); // counted by the fan-out activities
        // Outputs are JSON with the web defaults of an isolated Functions app (camelCase).
        Assert.Contains($"\"totalLetters\": {letters}", text, StringComparison.Ordinal);
        // The built-in defaults: the SQLite provider on {home}/durable.db.
        Assert.True(File.Exists(Path.Combine(_home, "durable.db")));
        // The sample pipeline ran the whole TFX pipeline, then again fully cached, and pushed a blessed model.
        Assert.Contains("8 executed, 0 cached", text, StringComparison.Ordinal);
        Assert.Contains("0 executed, 8 cached", text, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_home, "serving_models", "penguins", "1", "model.onnx")), text);
        Assert.True(File.Exists(Path.Combine(_home, "serving_models", "penguins", "1", "_READY")), text);
    }

    [Fact]
    public async Task Cli_UnknownCommandOrOption_ExitCode2WithUsage()
    {
        var err = new StringWriter();
        Assert.Equal(2, await CliApp.RunAsync(["frobnicate"], TextWriter.Null, err));
        Assert.Contains("unknown command 'frobnicate'", err.ToString(), StringComparison.Ordinal);
        err = new StringWriter();
        Assert.Equal(2, await CliApp.RunAsync(["sample", "--colour", "red"], TextWriter.Null, err));
        Assert.Contains("unknown option '--colour'", err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_BadHostJson_ErrorNamesFileAndSetting()
    {
        var path = Path.Combine(_home, "host.json");
        await File.WriteAllTextAsync(path, """{ "version": "2.0", "extensions": { "durableTask": { "maxConcurrentActivityFunctions": -3 } } }""");
        var err = new StringWriter();
        Assert.Equal(1, await CliApp.RunAsync(["serve", "--host-json", path, "--urls", "http://127.0.0.1:0"], TextWriter.Null, err));
        Assert.Contains("maxConcurrentActivityFunctions", err.ToString(), StringComparison.Ordinal);
        Assert.Contains(path, err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FunctionApp_HostJsonSelectsSqliteFileAndAccessKey_ServesManagementApi()
    {
        var hostJson = Path.Combine(_home, "host.json");
        await File.WriteAllTextAsync(hostJson, """
            { "version": "2.0", "extensions": { "durableTask": { "hubName": "TestHub",
              "storageProvider": { "type": "sqlite", "connectionStringName": "TestDurableStorage" }, "maxConcurrentActivityFunctions": 4 } } }
            """);
        // The app setting connectionStringName names holds the database file; a relative path resolves against the home folder.
        var app = PipelineAppHost.Build(new PipelineAppOptions
        {
            HostJsonPath = hostJson,
            HomeDirectory = _home,
            Urls = "http://127.0.0.1:0",
            AccessKey = "s3cret",
            ReadAppSetting = name => name == "TestDurableStorage" ? "state/test.db" : Environment.GetEnvironmentVariable(name),
        });
        await app.StartAsync();
        try
        {
            var baseUri = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var http = new HttpClient { BaseAddress = new Uri(baseUri) };
            var denied = await http.PostAsJsonAsync("/runtime/webhooks/durabletask/orchestrators/SampleWorkflow", new { Cities = new[] { "Rome" }, PauseSeconds = 0.1 });
            Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
            var start = await http.PostAsJsonAsync("/runtime/webhooks/durabletask/orchestrators/SampleWorkflow/inst-1?code=s3cret", new { Cities = new[] { "Rome" }, PauseSeconds = 0.1 });
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            HttpResponseMessage status;
            do
            {
                await Task.Delay(50);
                status = await http.GetAsync("/runtime/webhooks/durabletask/instances/inst-1?code=s3cret");
            }
            while (status.StatusCode == HttpStatusCode.Accepted && DateTime.UtcNow < deadline);
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);
            var body = await status.Content.ReadAsStringAsync();
            Assert.Contains("Hello Rome!", body, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(_home, "state", "test.db")));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_home, true); } catch (IOException) { }
    }
}

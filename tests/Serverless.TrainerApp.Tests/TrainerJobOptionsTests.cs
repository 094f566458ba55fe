using System.Diagnostics;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Hosting.Configuration;
using Serverless.Pipelines;
using Serverless.Pipelines.Hosting;
using Serverless.Pipelines.Orchestration;

namespace Serverless.TrainerApp.Tests;

/// <summary>The <c>trainerJobs</c> settings, the trainer app's refusal to start without them, and gpu nodes without a queue.</summary>
public sealed class TrainerJobOptionsTests : IDisposable
{
    private readonly string home = Directory.CreateTempSubdirectory("jobs-opt-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(home, true); } catch (IOException) { }
    }

    private string HostJson(string pipelines)
    {
        var path = Path.Combine(home, "host.json");
        File.WriteAllText(path, $$"""{ "version": "2.0", "extensions": { "pipelines": {{pipelines}} } }""");
        return path;
    }

    [Fact]
    public void Load_AllSettings_Applied()
    {
        var o = PipelineHostOptions.Load(HostJson("""
            { "trainerJobs": { "queueName": "gpu-jobs", "connectionStringName": "Jobs", "pool": "a100", "timeout": "01:00:00",
              "callbackBaseUrl": "https://app.example.net/", "visibilityTimeout": "00:00:30", "maxDequeueCount": 3,
              "pollInterval": "00:00:02", "checkpointPrefix": "/ckpt/", "queueLengthRefresh": "30s" } }
            """), home).TrainerJobs!;
        Assert.Equal(("gpu-jobs", "Jobs", "a100"), (o.QueueName, o.ConnectionStringName, o.Pool));
        Assert.Equal((TimeSpan.FromHours(1), TimeSpan.FromSeconds(30), 3, TimeSpan.FromSeconds(2)), (o.Timeout, o.VisibilityTimeout, o.MaxDequeueCount, o.PollInterval));
        Assert.Equal(new Uri("https://app.example.net/"), o.CallbackBaseUrl);
        Assert.Equal("ckpt", o.CheckpointPrefix);
        Assert.Equal(new TrainingJobSettings { Pool = "a100", Timeout = TimeSpan.FromHours(1), QueueLengthRefresh = TimeSpan.FromSeconds(30) }, o.ToSettings());
        Assert.Null(PipelineHostOptions.Load(HostJson("{}"), home).TrainerJobs);
    }

    [Theory]
    [InlineData("""{ "queueNmae": "x" }""", "extensions.pipelines.trainerJobs.queueNmae")]
    [InlineData("""{ "queueName": "Bad_Name" }""", "extensions.pipelines.trainerJobs.queueName")]
    [InlineData("""{ "timeout": "soon" }""", "extensions.pipelines.trainerJobs.timeout")]
    [InlineData("""{ "maxDequeueCount": 0 }""", "extensions.pipelines.trainerJobs.maxDequeueCount")]
    [InlineData("""{ "callbackBaseUrl": "ftp://x" }""", "extensions.pipelines.trainerJobs.callbackBaseUrl")]
    [InlineData("""{ "queueLengthRefresh": "often" }""", "extensions.pipelines.trainerJobs.queueLengthRefresh")]
    [InlineData("""{ "queueLengthRefresh": "2d" }""", "extensions.pipelines.trainerJobs.queueLengthRefresh")]
    public void Load_BadSetting_ErrorNamesSettingAndFile(string section, string setting)
    {
        var path = HostJson($$"""{ "trainerJobs": {{section}} }""");
        var error = Assert.Throws<HostJsonException>(() => PipelineHostOptions.Load(path, home));
        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TrainerApp_WithoutTrainerJobs_ExitsOneNamingTheSetting()
    {
        var path = HostJson("{}");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Serverless.TrainerApp.dll"), "--host-json", path, "--home", home }) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 1, stdout + await stderr);
        Assert.Contains("extensions.pipelines.trainerJobs", await stderr, StringComparison.Ordinal);
        Assert.Contains("is required", await stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GpuNode_WithoutJobQueue_RunsAsOrdinaryActivity()
    {
        var options = PipelineHostOptions.Defaults(home);
        options.ComponentAssemblies.Add(typeof(JobProbeComponent).Assembly.Location);
        options.BlobTrigger.Enabled = false;
        var app = PipelineAppHost.Build(new PipelineAppOptions { HomeDirectory = home, Urls = "http://127.0.0.1:0", AccessKey = "k", EnableTriggers = false, LogLevel = LogLevel.Warning, Pipelines = options });
        await app.StartAsync();
        try
        {
            Directory.CreateDirectory(options.PipelinesFolder);
            await File.WriteAllTextAsync(Path.Combine(options.PipelinesFolder, "plain.yaml"), """
                name: plain
                nodes:
                  - id: train
                    component: JobProbe
                    pool: gpu
                    parameters: { steps: 2 }
                """);
            var runtime = app.Services.GetRequiredService<PipelineRuntime>();
            await runtime.StartAsync(runtime.FindPipeline("plain")!, new RunRequest { RunId = "plain-1", Trigger = "test", Source = ParameterSource.Operator });
            using var cancel = new CancellationTokenSource(JobHarness.Patience);
            var done = await runtime.Client.WaitForInstanceCompletionAsync("plain-1", getInputsAndOutputs: true, cancel.Token);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            var node = done.ReadOutputAs<PipelineRunStatus>()!.Nodes.Single();
            Assert.Equal(NodeState.Complete, node.State);
            Assert.Null(node.Detail);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}

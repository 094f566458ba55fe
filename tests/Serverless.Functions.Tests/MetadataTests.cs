using System.Text.Json.Nodes;
using Serverless.Pipelines.Orchestration;

namespace Serverless.Functions.Tests;

/// <summary>
/// What the Worker Sdk generated for the Functions host from the app's attributes (functions.metadata, extensions.json,
/// worker.config.json in the app's build output), and the app's host.json and settings example: the host reads exactly
/// these, so a wrong trigger, route, path, schedule or connection fails here without the host.
/// </summary>
public sealed class MetadataTests
{
    private static readonly JsonArray Functions = (JsonArray)JsonNode.Parse(File.ReadAllText(Path.Combine(Repo.FunctionAppOutput, "functions.metadata")))!;

    private static JsonObject Function(string name) =>
        Functions.Select(f => f!.AsObject()).SingleOrDefault(f => f["name"]!.ToString() == name)
        ?? throw new Xunit.Sdk.XunitException($"functions.metadata has no function '{name}' (has: {string.Join(", ", Functions.Select(f => f!["name"]))})");

    private static JsonObject Trigger(string name) =>
        Function(name)["bindings"]!.AsArray().Select(b => b!.AsObject()).Single(b => b["type"]!.ToString().EndsWith("Trigger", StringComparison.OrdinalIgnoreCase));

    private static IEnumerable<string> BindingTypes(string name) => Function(name)["bindings"]!.AsArray().Select(b => b!["type"]!.ToString());

    public static TheoryData<string, string, string, string> HttpFunctions => new()
    {
        // The local host's routes (PipelineHttpApi) under the Functions host's api/ prefix.
        { "ListPipelines", "get", "pipelines", "Function" },
        { "StartPipelineRun", "post", "pipelines/{name}/runs", "Function" },
        { "ListRuns", "get", "runs", "Function" },
        { "GetRun", "get", "runs/{id}", "Function" },
        { "CancelRun", "post", "runs/{id}/cancel", "Function" },
        { "ApproveRun", "post", "runs/{id}/approve", "Function" },
        { "RejectRun", "post", "runs/{id}/reject", "Function" },
        { "Dashboard", "get", "dashboard/{file?}", "Anonymous" },
        { "DashboardApi", "get", "dashboard/api/{*path}", "Function" },
        { "DashboardInstance", "get", "dashboard/durable/instances/{id}", "Function" },
    };

    [Theory]
    [MemberData(nameof(HttpFunctions))]
    public void HttpFunction_HasItsRouteMethodAndKey(string name, string method, string route, string authLevel)
    {
        var trigger = Trigger(name);
        Assert.Equal("httpTrigger", trigger["type"]!.ToString());
        Assert.Equal(route, trigger["route"]!.ToString());
        Assert.Equal([method], trigger["methods"]!.AsArray().Select(m => m!.ToString().ToLowerInvariant()));
        Assert.Equal(authLevel, trigger["authLevel"]!.ToString());
        Assert.Contains("http", BindingTypes(name));
    }

    [Fact]
    public void HttpFunctions_ServeEveryRunRouteOfTheLocalHost()
    {
        var routes = Functions.SelectMany(f => f!["bindings"]!.AsArray()).Where(b => b!["type"]!.ToString() == "httpTrigger").Select(b => b!["route"]!.ToString()).ToHashSet();
        foreach (var local in new[] { "pipelines", "pipelines/{name}/runs", "runs", "runs/{id}", "runs/{id}/cancel", "runs/{id}/approve", "runs/{id}/reject" })
        {
            Assert.Contains(local, routes);
        }
    }

    [Fact]
    public void Orchestrators_HaveOrchestrationTriggers()
    {
        Assert.Equal("orchestrationTrigger", Trigger(PipelineOrchestrator.Name)["type"]!.ToString());
        Assert.Equal("orchestrationTrigger", Trigger("TunerTrials")["type"]!.ToString());
    }

    [Fact]
    public void EveryComponentType_HasItsActivityFunction_WithADurableClient()
    {
        foreach (var name in OrchestrationFunctions.ComponentTypes.Append(RunPipelineNodeActivity.Name).Append("TunerTrial").Append("SubmitTrainingJob"))
        {
            Assert.Equal("activityTrigger", Trigger(name)["type"]!.ToString());
            Assert.Contains("durableClient", BindingTypes(name));
        }

        Assert.Equal("activityTrigger", Trigger("TrainingJobQueueLength")["type"]!.ToString());
    }

    [Fact]
    public void BlobTrigger_WatchesIncoming_WithEventGridAndTheStorageConnection()
    {
        var trigger = Trigger("StartRunOnBlob");
        Assert.Equal("blobTrigger", trigger["type"]!.ToString());
        Assert.Equal("incoming/{pipeline}/{name}", trigger["path"]!.ToString());
        Assert.Equal("AzureWebJobsStorage", trigger["connection"]!.ToString());
        Assert.Equal("EventGrid", trigger["source"]!.ToString());
        Assert.Contains("durableClient", BindingTypes("StartRunOnBlob"));
    }

    [Fact]
    public void TimerTrigger_TakesItsScheduleFromTheAppSetting()
    {
        var trigger = Trigger("RetrainOnSchedule");
        Assert.Equal("timerTrigger", trigger["type"]!.ToString());
        Assert.Equal("%RetrainSchedule%", trigger["schedule"]!.ToString());
        Assert.Contains("durableClient", BindingTypes("RetrainOnSchedule"));
    }

    [Fact]
    public void EveryFunction_IsListed_AndNoOther()
    {
        var expected = HttpFunctions.Select(row => (string)row[0])
            .Concat(OrchestrationFunctions.ComponentTypes)
            .Concat([PipelineOrchestrator.Name, "TunerTrials", "TunerTrial", RunPipelineNodeActivity.Name, "SubmitTrainingJob", "TrainingJobQueueLength", "StartRunOnBlob", "RetrainOnSchedule"])
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected, Functions.Select(f => f!["name"]!.ToString()).Order(StringComparer.Ordinal));
        Assert.All(Functions, f => Assert.Equal("Serverless.Functions.dll", f!["scriptFile"]!.ToString()));
    }

    [Fact]
    public void ExtensionsJson_CarriesTheDurableTaskAndBlobExtensions()
    {
        var extensions = JsonNode.Parse(File.ReadAllText(Path.Combine(Repo.FunctionAppOutput, "extensions.json")))!["extensions"]!.AsArray();
        var names = extensions.Select(e => e!["name"]!.ToString()).ToList();
        Assert.Contains("DurableTask", names);
        Assert.Contains(names, n => n.Contains("Blobs", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(extensions, e => e!["typeName"]!.ToString().Contains("DurableTask", StringComparison.Ordinal));
    }

    [Fact]
    public void WorkerConfig_StartsTheAppWithDotnet()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Repo.FunctionAppOutput, "worker.config.json")))!;
        Assert.Equal("Serverless.Functions.dll", config["description"]!["defaultWorkerPath"]!.ToString());
    }

    [Fact]
    public void HostJson_DurableHubOnAzureStorage_AndPipelinesLoad()
    {
        var host = JsonNode.Parse(File.ReadAllText(Path.Combine(Repo.FunctionAppOutput, "host.json")))!;
        var durable = host["extensions"]!["durableTask"]!;
        Assert.Equal("PipelinesHub", durable["hubName"]!.ToString());
        Assert.Equal("AzureStorage", durable["storageProvider"]!["type"]!.ToString());
        Assert.Equal("AzureWebJobsStorage", durable["storageProvider"]!["connectionStringName"]!.ToString());

        using var temp = new TempHome();
        var settings = new Dictionary<string, string?> { ["SERVERLESS_HOME"] = temp.Path };
        var options = PipelineFunctionsSetup.LoadOptions(Repo.FunctionAppOutput, n => settings.GetValueOrDefault(n));
        Assert.Equal(Path.Combine(Repo.FunctionAppOutput, "pipelines"), options.PipelinesFolder);
        Assert.True(File.Exists(Path.Combine(options.PipelinesFolder, "penguins_full.yaml")));
        Assert.True(File.Exists(Path.Combine(options.PipelinesFolder, "data", "penguins.csv")));
        Assert.Equal("azureBlob", options.ArtifactStore.Type);
        Assert.Equal("artifacts", options.ArtifactStore.Container);

        settings["AzureFunctionsJobHost__extensions__pipelines__artifactStore__container"] = "other";
        Assert.Equal("other", PipelineFunctionsSetup.LoadOptions(Repo.FunctionAppOutput, n => settings.GetValueOrDefault(n)).ArtifactStore.Container);
        settings["AzureFunctionsJobHost__extensions__pipelines__artifactStore__type"] = "s3";
        var e = Assert.Throws<InvalidOperationException>(() => PipelineFunctionsSetup.LoadOptions(Repo.FunctionAppOutput, n => settings.GetValueOrDefault(n)));
        Assert.Contains("artifactStore__type", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrainerJobsSettings_MakeGpuNodesJobs_AndBadTimeoutIsNamed()
    {
        using var temp = new TempHome();
        var settings = new Dictionary<string, string?> { ["SERVERLESS_HOME"] = temp.Path };
        Assert.Null(PipelineFunctionsSetup.LoadOptions(Repo.FunctionAppOutput, n => settings.GetValueOrDefault(n)).TrainerJobs);

        const string prefix = "AzureFunctionsJobHost__extensions__pipelines__trainerJobs__";
        settings[prefix + "queueName"] = "gpu-jobs";
        settings[prefix + "timeout"] = "02:00:00";
        var jobs = PipelineFunctionsSetup.LoadOptions(Repo.FunctionAppOutput, n => settings.GetValueOrDefault(n)).TrainerJobs;
        Assert.NotNull(jobs);
        Assert.Equal("gpu-jobs", jobs.QueueName);
        Assert.Equal("AzureWebJobsStorage", jobs.ConnectionStringName);
        Assert.Equal(TimeSpan.FromHours(2), jobs.ToSettings().Timeout);
        Assert.Equal("gpu", jobs.ToSettings().Pool);

        settings[prefix + "timeout"] = "soon";
        var e = Assert.Throws<InvalidOperationException>(() => PipelineFunctionsSetup.LoadOptions(Repo.FunctionAppOutput, n => settings.GetValueOrDefault(n)));
        Assert.Contains("trainerJobs__timeout", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LocalSettingsExample_HasWhatFuncStartNeeds()
    {
        var values = JsonNode.Parse(File.ReadAllText(Path.Combine(Repo.Root, "functions", "Serverless.Functions", "local.settings.json.example")))!["Values"]!;
        Assert.Equal("UseDevelopmentStorage=true", values["AzureWebJobsStorage"]!.ToString());
        Assert.Equal("dotnet-isolated", values["FUNCTIONS_WORKER_RUNTIME"]!.ToString());
        Assert.Equal(6, values[PipelineFunctionsSetup.RetrainScheduleSetting]!.ToString().Split(' ').Length);
        Assert.NotNull(values[PipelineFunctionsSetup.RetrainPipelineSetting]);
        var schedule = Serverless.Pipelines.Hosting.Triggers.NcrontabSchedule.Parse(values[PipelineFunctionsSetup.RetrainScheduleSetting]!.ToString());
        Assert.NotNull(schedule.GetNextOccurrence(new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc)));
    }
}

/// <summary>The worker's own composition (Program.cs): the Functions application builder builds, and its container creates
/// every class that holds functions, as the worker does per invocation.</summary>
public sealed class WorkerCompositionTests
{
    [Fact]
    public void FunctionsWorker_CreatesEveryFunctionClass()
    {
        using var temp = new TempHome();
        // App settings as the host passes them (command-line configuration here): local state in a temp folder, Azurite's
        // connection string for the artifact store (nothing connects until a blob is used).
        var builder = PipelineFunctionsSetup.CreateBuilder([$"--SERVERLESS_HOME={temp.Path}", "--AzureWebJobsStorage=UseDevelopmentStorage=true"]);
        using var app = builder.Build();
        var classes = typeof(OrchestrationFunctions).Assembly.GetTypes()
            .Where(t => t.GetMethods().Any(m => m.GetCustomAttributes(typeof(Microsoft.Azure.Functions.Worker.FunctionAttribute), false).Length > 0))
            .ToList();
        Assert.Equal(["DashboardFunctions", "OrchestrationFunctions", "PipelineHttpFunctions", "TriggerFunctions"], classes.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var type in classes)
        {
            Assert.NotNull(Microsoft.Extensions.DependencyInjection.ActivatorUtilities.CreateInstance(app.Services, type));
        }

        var runtime = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Serverless.Pipelines.Hosting.PipelineRuntime>(app.Services);
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "pipelines"), runtime.Options.PipelinesFolder);
        Assert.StartsWith(temp.Path, runtime.Options.MetadataPath, StringComparison.Ordinal);
        Assert.Contains(runtime.ListPipelines(), p => p.Name == "penguins_full");
    }
}

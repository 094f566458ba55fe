using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Dashboard;
using Serverless.Hosting;
using Serverless.Hosting.Configuration;
using Serverless.Hosting.Http;
using Serverless.Hosting.Providers;
using Serverless.Ml.Components.Tuner;
using Serverless.Pipelines.Hosting.Http;
using Serverless.Pipelines.Hosting.Triggers;
using Serverless.Pipelines.Orchestration;

namespace Serverless.Pipelines.Hosting;

/// <summary>
/// Builds the local pipeline host on the real Durable Task runtime (<c>Serverless.Hosting</c>): the provider host.json
/// names (SQLite by default, Azure Storage one setting away), the SDK worker running the pipeline orchestrator, its node
/// activity, the Tuner's trials and the samples, a <see cref="Microsoft.DurableTask.Client.DurableTaskClient"/>, the
/// pipeline services (<see cref="PipelineRuntime"/>), Durable Functions' HTTP management API, the pipeline API and the
/// blob and timer triggers, all behind one access key.
/// </summary>
public static class PipelineAppHost
{
    /// <summary>The task hub of the built-in defaults (no host.json).</summary>
    public const string DefaultHubName = "SampleHub";

    /// <summary>Builds (does not start) the app.</summary>
    public static WebApplication Build(PipelineAppOptions options, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = LoadSettings(options);
        var accessKey = HostAccessKey.Resolve(options);
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries));
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // DTFx logs every dispatch at Information; the host's own lines stay readable.
        builder.Logging.AddFilter("DurableTask", LogLevel.Warning);

        var pipelineOptions = options.Pipelines ?? PipelineHostOptions.Load(options.HostJsonPath, options.HomeDirectory);
        var services = builder.Services;
        services.AddPipelineHost(settings, pipelineOptions, options, accessKey);

        var app = builder.Build();
        app.Services.GetService<BuiltServices>()?.Set(app.Services);
        var runtime = app.Services.GetRequiredService<PipelineRuntime>();
        // Pipeline runs start through the pipeline API, the triggers or the CLI, which classify parameters and check the roots:
        // the management API does not start (or restart) the orchestrators whose input the host trusts.
        var management = new DurableHttpOptions { AccessKey = accessKey.Key };
        management.InternalOrchestrators.Add(PipelineOrchestrator.Name);
        management.InternalOrchestrators.Add(TunerTrials.OrchestratorName);
        app.MapDurableTaskManagementApi(management);
        app.MapPipelineApi(runtime, app.Services.GetRequiredService<TimerTriggerService>(), accessKey.Key);
        app.MapPipelineDashboard(new DashboardOptions { AccessKey = accessKey.Key, Metadata = runtime.Metadata, Artifacts = runtime.Blobs, ServingRepository = pipelineOptions.ServingRepository });
        if (accessKey.Generated)
        {
            // Printed once, on the start that generated it; later starts only say where it lives.
            app.Logger.LogWarning("Generated an access key for the HTTP API: {Key} (stored in {Path}, mode 0600). Send it as the x-functions-key header or ?code=.", accessKey.Key, accessKey.FilePath);
        }
        else if (accessKey.FilePath is not null)
        {
            app.Logger.LogInformation("HTTP API access key: in {Path}", accessKey.FilePath);
        }

        app.MapGet("/api/health", () => Results.Ok(new { status = "ok", hub = settings.HubName, provider = settings.StorageProvider.Type }));
        return app;
    }

    /// <summary>
    /// Builds (does not start) a host with the durable client and the pipeline services but no worker, no HTTP and no
    /// triggers: for commands that read runs and lineage (listing never runs anything).
    /// </summary>
    public static IHost BuildClient(PipelineAppOptions options) => BuildWithoutHttp(options, worker: false);

    /// <summary>
    /// Builds (does not start) a worker-only host: the durable worker with the pipeline orchestrator, its activities and the
    /// Tuner's trials, no HTTP and no triggers. Another process on the same task hub (the trainer app's image, a second
    /// machine on Azure Storage) adds capacity: the provider hands each work item to one worker.
    /// </summary>
    public static IHost BuildWorker(PipelineAppOptions options) => BuildWithoutHttp(options, worker: true);

    private static IHost BuildWithoutHttp(PipelineAppOptions options, bool worker)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = LoadSettings(options);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(worker ? options.LogLevel : LogLevel.Warning);
        builder.Logging.AddFilter("DurableTask", LogLevel.Warning);
        var pipelineOptions = options.Pipelines ?? PipelineHostOptions.Load(options.HostJsonPath, options.HomeDirectory);
        builder.Services.AddDurableRuntime(settings, options, pipelineOptions, worker);
        builder.Services.AddPipelineRuntime(pipelineOptions, options.Time, options.ReadAppSetting);
        var host = builder.Build();
        host.Services.GetService<BuiltServices>()?.Set(host.Services);
        return host;
    }

    /// <summary>
    /// The durable settings: host.json when given (Serverless.Hosting's reader), else the built-in
    /// <see cref="DefaultHostJson"/>; then the embedded defaults (<see cref="WithEmbeddedDefaults"/>). Every host calls it
    /// first, so it also makes what the process creates from now on private (files 0600, folders 0700) and creates the home
    /// folder 0700.
    /// </summary>
    public static DurableTaskHostSettings LoadSettings(PipelineAppOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        PrivateFiles.RestrictNewFiles();
        PrivateFiles.CreateDirectory(options.HomeDirectory);
        var settings = options.HostJsonPath != null
            ? HostJsonReader.Load(options.HostJsonPath)
            : HostJsonReader.Parse(DefaultHostJson, "(built-in defaults)", options.HomeDirectory);
        return WithEmbeddedDefaults(settings);
    }

    /// <summary>
    /// The product's embedded defaults over Durable Functions' (whose default provider is Azure Storage): a host.json that
    /// names no <c>storageProvider.type</c> gets the SQLite provider (no emulator, no Node.js), and the SQLite provider
    /// gets a <c>workItemLockTimeout</c> of 5 s unless host.json sets one, so a CLI restarted after a crash takes over the
    /// dead process's work at once (live workers renew their locks every third of it). Azure Storage stays one setting
    /// away: <c>"type": "AzureStorage"</c>.
    /// </summary>
    public static DurableTaskHostSettings WithEmbeddedDefaults(DurableTaskHostSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var provider = settings.StorageProvider;
        var named = provider.Section.Get("type") is not null;
        if (named && !string.Equals(provider.Type, SqliteProviderFactory.Type, StringComparison.OrdinalIgnoreCase))
        {
            return settings;
        }

        var section = new JsonObject();
        foreach (var key in provider.Section.Keys)
        {
            section[key] = provider.Section.Get(key) is { } value ? JsonNode.Parse(value.GetRawText()) : null;
        }

        section["type"] ??= SqliteProviderFactory.Type;
        if (provider.Section.Get("workItemLockTimeout") is null)
        {
            section["workItemLockTimeout"] = DefaultWorkItemLockTimeout;
        }

        using var document = JsonDocument.Parse(section.ToJsonString());
        return new DurableTaskHostSettings
        {
            HubName = settings.HubName,
            StorageProvider = new DurableStorageProviderSettings
            {
                Type = SqliteProviderFactory.Type,
                ConnectionStringName = provider.ConnectionStringName,
                Section = new HostJsonSection(document.RootElement, provider.Section.Path, provider.Section.Source),
            },
            MaxConcurrentActivityFunctions = settings.MaxConcurrentActivityFunctions,
            MaxConcurrentOrchestratorFunctions = settings.MaxConcurrentOrchestratorFunctions,
            ExtendedSessionsEnabled = settings.ExtendedSessionsEnabled,
            ExtendedSessionIdleTimeoutInSeconds = settings.ExtendedSessionIdleTimeoutInSeconds,
            BaseDirectory = settings.BaseDirectory,
            SourcePath = settings.SourcePath,
        };
    }

    /// <summary>The SQLite provider's lock timeout when host.json sets none (see <see cref="WithEmbeddedDefaults"/>).</summary>
    public const string DefaultWorkItemLockTimeout = "00:00:05";

    /// <summary>The built-in host.json: the SQLite provider on <c>{home}/durable.db</c> unless the <c>DurableStorage</c>
    /// app setting names another file.</summary>
    public const string DefaultHostJson = """
        {
          "version": "2.0",
          "extensions": {
            "durableTask": {
              "hubName": "SampleHub",
              "storageProvider": { "type": "sqlite", "connectionStringName": "DurableStorage" }
            }
          }
        }
        """;

    private static void AddPipelineHost(this IServiceCollection services, DurableTaskHostSettings settings, PipelineHostOptions pipelineOptions, PipelineAppOptions options, HostAccessKey accessKey)
    {
        services.AddDurableRuntime(settings, options, pipelineOptions, options.RunWorker);
        services.AddPipelineRuntime(pipelineOptions, options.Time, options.ReadAppSetting);
        services.AddSingleton(accessKey);
        services.AddSingleton<BlobTriggerService>();
        services.AddSingleton<TimerTriggerService>();
        if (options.EnableTriggers)
        {
            if (pipelineOptions.BlobTrigger.Enabled) services.AddHostedService(sp => sp.GetRequiredService<BlobTriggerService>());
            if (pipelineOptions.Timers.Count > 0) services.AddHostedService(sp => sp.GetRequiredService<TimerTriggerService>());
        }
    }

    // The provider and client, and with a worker the SDK registry: samples, the pipeline orchestrator and node activity,
    // the Tuner's trials and the app's own tasks.
    private static void AddDurableRuntime(this IServiceCollection services, DurableTaskHostSettings settings, PipelineAppOptions options, PipelineHostOptions pipelineOptions, bool worker)
    {
        void Hosting(DurableHostingOptions o)
        {
            o.Settings = settings;
            o.HomeDirectory = options.HomeDirectory;
            o.ReadAppSetting = options.ReadAppSetting;
        }

        if (!worker)
        {
            services.AddDurableTaskHostingClient(Hosting);
            return;
        }

        // The orchestrator's components come from the built container (the PipelineRuntime needs the client first).
        var built = new BuiltServices();
        services.AddSingleton(built);
        services.AddDurableTaskHosting(Hosting).AddTasks(r =>
        {
            Samples.SampleFunctions.Register(r);
            r.AddPipelineOrchestration(() => built.Get<ComponentRegistry>(), () => built.Get<PipelineLimits>(), () => pipelineOptions.TrainerJobs?.ToSettings()).AddTunerTrials();
            if (pipelineOptions.TrainerJobs is not null)
            {
                r.AddActivity<GpuJobs.SubmitTrainingJobActivity>(TrainingJobOrchestration.SubmitActivityName);
                r.AddActivity<GpuJobs.TrainingJobQueueLengthActivity>(TrainingJobOrchestration.QueueLengthActivityName);
            }
            options.Register?.Invoke(r);
        });
        if (pipelineOptions.TrainerJobs is { } jobs)
        {
            // The GPU job queue (GpuJobs/): the submit activity writes jobs whose callback is this app's raiseEvent route.
            services.AddSingleton(sp => new GpuJobs.TrainingJobQueue(jobs, options.ReadAppSetting));
            services.AddSingleton(sp => new GpuJobs.TrainingJobCallbacks(
                jobs,
                settings.HubName,
                settings.StorageProvider.ConnectionStringName ?? "Storage",
                sp.GetService<HostAccessKey>()?.Key ?? HostAccessKey.Resolve(options).Key,
                sp));
        }
    }

    /// <summary>The app's services once built, for factories registered before the container exists.</summary>
    private sealed class BuiltServices
    {
        private IServiceProvider? services;

        public void Set(IServiceProvider provider) => services = provider;

        public T Get<T>() where T : notnull =>
            (services ?? throw new InvalidOperationException("the host's services are not built yet")).GetRequiredService<T>();
    }
}

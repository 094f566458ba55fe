using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Dashboard;
using Serverless.Durable;
using Serverless.Durable.Backend;
using Serverless.Durable.Http;
using Serverless.Durable.Http.Configuration;
using Serverless.FunctionApp.Pipelines;
using Serverless.FunctionApp.Triggers;
using Serverless.Ml.Components.Tuner;
using Serverless.Pipelines;
using Serverless.Pipelines.Orchestration;

namespace Serverless.FunctionApp;

/// <summary>Settings of the function app host. Defaults give a working app with no set-up.</summary>
public sealed class FunctionAppOptions
{
    /// <summary>Path of host.json (Durable Functions' schema). Default null: built-in defaults (SQLite under <see cref="HomeDirectory"/>).
    /// The function app's own entry point passes <c>host.json</c> from the current directory when there is one.</summary>
    public string? HostJsonPath { get; set; }

    /// <summary>The app's home folder for embedded state (SQLite files, local blobs). Default <c>$SERVERLESS_HOME</c> or <c>~/.serverless-ml</c>.</summary>
    public string HomeDirectory { get; set; } = Environment.GetEnvironmentVariable("SERVERLESS_HOME")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".serverless-ml");

    /// <summary>Kestrel URL(s). Default <c>http://127.0.0.1:7071</c> (the Functions host's port): loopback only unless configured.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:7071";

    /// <summary>
    /// The key every HTTP request needs (<c>x-functions-key</c> header or <c>code</c> query). Default null: the
    /// <c>SERVERLESS_ACCESS_KEY</c> environment variable, else the key file <c>{home}/access-key</c>, generated (256 random
    /// bits, mode 0600) and printed once on first start. There is no keyless mode.
    /// </summary>
    public string? AccessKey { get; set; }

    /// <summary>Registers the app's orchestrators and activities (the samples are always registered).</summary>
    public Action<DurableTaskRegistry>? Register { get; set; }

    /// <summary>Adjusts worker options after host.json was applied (tests shorten leases and polling).</summary>
    public Action<DurableTaskWorkerOptions>? ConfigureWorker { get; set; }

    /// <summary>Minimum log level. Default Information.</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    /// <summary>Pipeline settings; default null: host.json <c>extensions.pipelines</c> over defaults under <see cref="HomeDirectory"/>.</summary>
    public PipelineHostOptions? Pipelines { get; set; }

    /// <summary>The clock of the triggers (tests fake it to fire timers). Default the system clock.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Whether the blob and timer triggers run in the background. Default true (the CLI's <c>run</c> turns them off).</summary>
    public bool EnableTriggers { get; set; } = true;
}

/// <summary>
/// Builds the function app: the durable backend chosen by host.json, a worker as a hosted service, a
/// <see cref="DurableTaskClient"/> in DI, and Durable Functions' HTTP management API on Kestrel.
/// </summary>
public static class FunctionAppHost
{
    /// <summary>Builds (does not start) the app.</summary>
    public static WebApplication Build(FunctionAppOptions options, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = LoadSettings(options);
        var accessKey = HostAccessKey.Resolve(options);
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries));
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        var pipelineOptions = options.Pipelines ?? PipelineHostOptions.Load(options.HostJsonPath, options.HomeDirectory);
        var workerOptions = new DurableTaskWorkerOptions();
        settings.ApplyTo(workerOptions);
        options.ConfigureWorker?.Invoke(workerOptions);
        var backend = DurableBackendFactory.CreateBackend(settings, Environment.GetEnvironmentVariable);
        var client = new DurableTaskClient(backend, workerOptions.DataConverter, name: settings.HubName);
        var runtime = new PipelineRuntime(pipelineOptions, client, options.Time).WithMlComponents(new DurableTrialRunner(client));

        // Node activities: one per served pool; pools served elsewhere (gpu -> the trainer app) are routed there, and
        // a node waiting on a pool no live worker serves says so in the run's status (pool watch).
        var registry = new DurableTaskRegistry();
        Samples.SampleFunctions.Register(registry);
        registry.AddPipelineOrchestrationWithPoolWatch(runtime.Components, runtime.Runner, workerOptions.Pools, backend, options.Time, pipelineOptions.Limits).AddTunerOrchestration();
        PipelineOrchestration.RoutePools(workerOptions, new[] { WorkerPools.Default, WorkerPools.Gpu }.Except(workerOptions.Pools));
        if (workerOptions.Pools.Contains(WorkerPools.Gpu)) registry.AddTunerTrialActivity(runtime.Blobs, WorkerPools.Gpu);
        else TunerTrials.RoutePool(workerOptions);
        options.Register?.Invoke(registry);

        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(accessKey);
        builder.Services.AddSingleton(registry);
        builder.Services.AddSingleton(workerOptions);
        // Factories, not instances: the container then disposes them with the app.
        builder.Services.AddSingleton<IOrchestrationBackend>(_ => backend);
        builder.Services.AddSingleton(_ => client);
        builder.Services.AddSingleton(_ => runtime);
        builder.Services.AddSingleton(pipelineOptions);
        builder.Services.AddSingleton<BlobTriggerService>();
        builder.Services.AddSingleton<TimerTriggerService>();
        if (options.EnableTriggers)
        {
            if (pipelineOptions.BlobTrigger.Enabled) builder.Services.AddHostedService(sp => sp.GetRequiredService<BlobTriggerService>());
            if (pipelineOptions.Timers.Count > 0) builder.Services.AddHostedService(sp => sp.GetRequiredService<TimerTriggerService>());
        }

        builder.Services.AddSingleton(sp => new DurableTaskWorker(sp.GetRequiredService<IOrchestrationBackend>(), registry, workerOptions,
            sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddHostedService<WorkerHostedService>();

        var app = builder.Build();
        // Pipeline runs start through the pipeline API or the CLI, which classify parameters and check the roots: the
        // management API does not start the orchestrators whose input the host trusts.
        var management = new DurableHttpOptions { AccessKey = accessKey.Key, TaskHubName = settings.HubName };
        management.InternalOrchestrators.Add(PipelineOrchestrator.Name);
        management.InternalOrchestrators.Add(TunerTrials.OrchestratorName);
        app.MapDurableTaskManagementApi(app.Services.GetRequiredService<DurableTaskClient>(), management);
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
        app.MapGet("/api/health", () => Results.Ok(new { status = "ok", hub = settings.HubName }));
        return app;
    }

    /// <summary>
    /// The durable settings: host.json when given, else SQLite under the home folder. Every host calls it first, so it also
    /// makes what the process creates from now on private (files 0600, folders 0700) and creates the home folder 0700.
    /// </summary>
    public static DurableTaskHostSettings LoadSettings(FunctionAppOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        PrivateFiles.RestrictNewFiles();
        PrivateFiles.CreateDirectory(options.HomeDirectory);
        if (options.HostJsonPath != null) return HostJsonReader.Load(options.HostJsonPath);
        return new DurableTaskHostSettings
        {
            BaseDirectory = options.HomeDirectory,
            StorageProvider = new DurableStorageProviderSettings { DatabasePath = Path.Combine(options.HomeDirectory, "durable", "SampleHub.db") },
            HubName = "SampleHub",
        };
    }

    private sealed class WorkerHostedService(DurableTaskWorker worker) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => worker.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => worker.StopAsync(cancellationToken);
    }
}

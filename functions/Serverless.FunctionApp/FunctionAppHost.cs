using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Durable;
using Serverless.Durable.Backend;
using Serverless.Durable.Http;
using Serverless.Durable.Http.Configuration;

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

    /// <summary>Kestrel URL(s). Default <c>http://127.0.0.1:7071</c> (the Functions host's port).</summary>
    public string Urls { get; set; } = "http://127.0.0.1:7071";

    /// <summary>When set, HTTP requests need this key (<c>x-functions-key</c> header or <c>code</c> query). Default: none.</summary>
    public string? AccessKey { get; set; }

    /// <summary>Registers the app's orchestrators and activities (the samples are always registered).</summary>
    public Action<DurableTaskRegistry>? Register { get; set; }

    /// <summary>Adjusts worker options after host.json was applied (tests shorten leases and polling).</summary>
    public Action<DurableTaskWorkerOptions>? ConfigureWorker { get; set; }

    /// <summary>Minimum log level. Default Information.</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Information;
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
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries));
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        var registry = new DurableTaskRegistry();
        Samples.SampleFunctions.Register(registry);
        options.Register?.Invoke(registry);
        var workerOptions = new DurableTaskWorkerOptions();
        settings.ApplyTo(workerOptions);
        options.ConfigureWorker?.Invoke(workerOptions);

        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(registry);
        builder.Services.AddSingleton(workerOptions);
        builder.Services.AddSingleton<IOrchestrationBackend>(_ => DurableBackendFactory.CreateBackend(settings, Environment.GetEnvironmentVariable));
        builder.Services.AddSingleton(sp => new DurableTaskClient(sp.GetRequiredService<IOrchestrationBackend>(), workerOptions.DataConverter, name: settings.HubName));
        builder.Services.AddSingleton(sp => new DurableTaskWorker(sp.GetRequiredService<IOrchestrationBackend>(), registry, workerOptions,
            sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddHostedService<WorkerHostedService>();

        var app = builder.Build();
        app.MapDurableTaskManagementApi(app.Services.GetRequiredService<DurableTaskClient>(),
            new DurableHttpOptions { AccessKey = options.AccessKey, TaskHubName = settings.HubName });
        app.MapGet("/api/health", () => Results.Ok(new { status = "ok", hub = settings.HubName }));
        return app;
    }

    private static DurableTaskHostSettings LoadSettings(FunctionAppOptions options)
    {
        if (options.HostJsonPath != null) return HostJsonReader.Load(options.HostJsonPath);
        Directory.CreateDirectory(options.HomeDirectory);
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

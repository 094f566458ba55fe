using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Dashboard;
using Serverless.Hosting;
using Serverless.Ml.Components.Tuner;
using Serverless.Pipelines.Hosting;

namespace Serverless.Functions;

/// <summary>
/// The function app's services: the same <see cref="PipelineRuntime"/> the local host runs (components, metadata and
/// artifact stores, node runner, starter), created over the <see cref="DurableClientBinding"/>, and the dashboard. Program.cs
/// calls it; the tests call it too, on the local durable runtime.
/// </summary>
public static class PipelineFunctionsSetup
{
    /// <summary>The app setting with the retraining timer's NCRONTAB schedule (<c>%RetrainSchedule%</c>).</summary>
    public const string RetrainScheduleSetting = "RetrainSchedule";

    /// <summary>The app setting naming the pipeline the timer retrains.</summary>
    public const string RetrainPipelineSetting = "RetrainPipeline";

    /// <summary>The storage connection of the blob trigger (and, by default, of Durable Functions and the artifact store).</summary>
    public const string StorageConnection = "AzureWebJobsStorage";

    /// <summary>
    /// The worker as Program.cs builds it: the Functions application builder with ASP.NET Core integration and the pipeline
    /// services (<see cref="AddPipelineFunctions"/>) over the app's host.json and app settings (the builder's configuration:
    /// environment variables, command-line arguments). The tests build it too, to check every function class resolves.
    /// </summary>
    public static FunctionsApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = FunctionsApplication.CreateBuilder(args);
        builder.ConfigureFunctionsWebApplication();
        string? Setting(string name) => builder.Configuration[name];
        builder.Services.AddPipelineFunctions(LoadOptions(AppContext.BaseDirectory, Setting), Setting);
        return builder;
    }

    /// <summary>
    /// The pipeline settings: <c>extensions.pipelines</c> of the app's host.json (in <paramref name="appFolder"/>, the one the
    /// Functions host reads) over the defaults under the home folder (<c>SERVERLESS_HOME</c>, else <c>~/.serverless-ml</c>),
    /// then the Functions host's override settings <c>AzureFunctionsJobHost__extensions__pipelines__artifactStore__*</c>
    /// (type, connectionStringName, container), which infra/main.bicep sets.
    /// </summary>
    /// <exception cref="Serverless.Hosting.Configuration.HostJsonException">A bad <c>extensions.pipelines</c> key or value.</exception>
    /// <exception cref="InvalidOperationException">A bad override setting.</exception>
    public static PipelineHostOptions LoadOptions(string appFolder, Func<string, string?> readSetting)
    {
        ArgumentNullException.ThrowIfNull(appFolder);
        ArgumentNullException.ThrowIfNull(readSetting);
        var home = readSetting("SERVERLESS_HOME") is { Length: > 0 } h ? Path.GetFullPath(h) : DurableHostingOptions.DefaultHomeDirectory();
        var hostJson = Path.Combine(appFolder, "host.json");
        var options = PipelineHostOptions.Load(File.Exists(hostJson) ? hostJson : null, home);
        const string prefix = "AzureFunctionsJobHost__extensions__pipelines__artifactStore__";
        if (readSetting(prefix + "type") is { Length: > 0 } type)
        {
            options.ArtifactStore.Type = type.Equals(ArtifactStoreOptions.AzureBlob, StringComparison.OrdinalIgnoreCase) ? ArtifactStoreOptions.AzureBlob
                : type.Equals(ArtifactStoreOptions.Local, StringComparison.OrdinalIgnoreCase) ? ArtifactStoreOptions.Local
                : throw new InvalidOperationException($"app setting {prefix}type must be '{ArtifactStoreOptions.Local}' or '{ArtifactStoreOptions.AzureBlob}'; got '{type}'");
        }

        if (readSetting(prefix + "connectionStringName") is { Length: > 0 } connection) options.ArtifactStore.ConnectionStringName = connection;
        if (readSetting(prefix + "container") is { Length: > 0 } container) options.ArtifactStore.Container = container;

        // The GPU job queue (infra/main.bicep sets queueName and connectionStringName): gpu-pool nodes become trainer-app jobs.
        const string jobs = "AzureFunctionsJobHost__extensions__pipelines__trainerJobs__";
        if (readSetting(jobs + "queueName") is { Length: > 0 } queueName) (options.TrainerJobs ??= new()).QueueName = queueName;
        if (readSetting(jobs + "connectionStringName") is { Length: > 0 } jobConnection) (options.TrainerJobs ??= new()).ConnectionStringName = jobConnection;
        if (readSetting(jobs + "timeout") is { Length: > 0 } timeout)
        {
            (options.TrainerJobs ??= new()).Timeout = TimeSpan.TryParse(timeout, System.Globalization.CultureInfo.InvariantCulture, out var t) && t > TimeSpan.Zero
                ? t
                : throw new InvalidOperationException($"app setting {jobs}timeout must be a positive time span (hh:mm:ss); got '{timeout}'");
        }

        return options;
    }

    /// <summary>
    /// Registers the <see cref="DurableClientBinding"/>, the <see cref="PipelineRuntime"/> over it (ML components, the
    /// Tuner's trials as durable activities), and the <see cref="DashboardSite"/> with the function app's routes.
    /// </summary>
    /// <param name="services">The worker's services.</param>
    /// <param name="options">The pipeline settings (<see cref="LoadOptions"/>).</param>
    /// <param name="readSetting">Reads app settings (the artifact store's connection).</param>
    /// <param name="time">The clock of triggers and run ids; default the system clock.</param>
    public static IServiceCollection AddPipelineFunctions(this IServiceCollection services, PipelineHostOptions options, Func<string, string?> readSetting, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(readSetting);
        services.AddSingleton<DurableClientBinding>();
        services.AddSingleton(sp =>
        {
            var client = sp.GetRequiredService<DurableClientBinding>();
            return new PipelineRuntime(options, client, time, readSetting).WithMlComponents(new DurableTrialRunner(client));
        });
        if (options.TrainerJobs is { } jobs)
        {
            services.AddSingleton(_ => new Serverless.Pipelines.Hosting.GpuJobs.TrainingJobQueue(jobs, readSetting));
        }

        services.AddSingleton(sp =>
        {
            var runtime = sp.GetRequiredService<PipelineRuntime>();
            return new DashboardSite(new DashboardOptions
            {
                // Not used: the dashboard's JSON function is behind the Functions host's function keys, checked before the
                // worker sees the request (DashboardSite.ServeApiAsync).
                AccessKey = string.Empty,
                Metadata = runtime.Metadata,
                Artifacts = runtime.Blobs,
                ServingRepository = options.ServingRepository,
                PipelineApiBase = "/api",
                DurableApiBase = DashboardFunctions.DurableApiBase,
                DashboardApiBase = DashboardFunctions.ApiBase,
                AssetBase = DashboardFunctions.AssetBase,
            });
        });
        return services;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Hosting.Configuration;
using Serverless.Metadata;
using Serverless.Storage;

namespace Serverless.Pipelines.Hosting.GpuJobs;

/// <summary>
/// Builds the trainer app (the GPU container app): a queue worker on <c>extensions.pipelines.trainerJobs</c>, with no task
/// hub, no HTTP and no triggers. It reads host.json's <c>extensions.pipelines</c> (job queue, artifact store, metadata,
/// roots, limits) like the function app, so both see the same artifacts and lineage.
/// </summary>
public static class TrainerAppHost
{
    /// <summary>Builds (does not start) the trainer app.</summary>
    /// <param name="options">Host settings (host.json, home, app settings, log level).</param>
    /// <param name="registerComponents">Adds the components jobs may run to the registry (which already holds the built-ins
    /// and <c>componentAssemblies</c>), given the metadata store and settings: the trainer app's one seam for its own
    /// components and engines. Default <see cref="DefaultComponents"/>.</param>
    /// <exception cref="HostJsonException">A bad setting, or no <c>trainerJobs</c> section.</exception>
    public static IHost Build(PipelineAppOptions options, Action<ComponentRegistry, IMetadataStore, PipelineHostOptions>? registerComponents = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        PrivateFiles.RestrictNewFiles();
        PrivateFiles.CreateDirectory(options.HomeDirectory);
        var pipelines = options.Pipelines ?? PipelineHostOptions.Load(options.HostJsonPath, options.HomeDirectory);
        var jobs = pipelines.TrainerJobs ?? throw new HostJsonException(
            "extensions.pipelines.trainerJobs",
            options.HostJsonPath ?? "(built-in defaults)",
            "is required: the trainer app works off the GPU job queue (e.g. { \"queueName\": \"trainer-jobs\", \"connectionStringName\": \"AzureWebJobsStorage\" })");

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.Services.AddSingleton(pipelines);
        builder.Services.AddSingleton<IMetadataStore>(_ =>
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(pipelines.MetadataPath))!);
            return SqliteMetadataStore.Open(pipelines.MetadataPath);
        });
        builder.Services.AddSingleton(_ => pipelines.CreateBlobStore(options.ReadAppSetting));
        builder.Services.AddSingleton(sp =>
        {
            var registry = pipelines.CreateComponentRegistry();
            (registerComponents ?? DefaultComponents)(registry, sp.GetRequiredService<IMetadataStore>(), pipelines);
            return registry;
        });
        builder.Services.AddSingleton(sp =>
        {
            var metadata = sp.GetRequiredService<IMetadataStore>();
            return new NodeRunner(sp.GetRequiredService<ComponentRegistry>(), metadata, sp.GetRequiredService<IBlobStore>(), options: new NodeRunnerOptions
            {
                Roots = pipelines.Roots,
                Limits = pipelines.Limits,
                // No task hub here: a run canceled through the cancel route is seen in the metadata store.
                Cancellation = new MetadataRunCancellation(metadata),
                ScratchDirectory = PrivateFiles.CreateDirectory(Path.GetFullPath(pipelines.ScratchFolder)),
            });
        });
        builder.Services.AddSingleton(_ => new TrainingJobQueue(jobs, options.ReadAppSetting));
        builder.Services.AddSingleton(_ => new HttpClient { Timeout = TimeSpan.FromSeconds(100) });
        builder.Services.AddHostedService(sp => new TrainingJobWorker(
            sp.GetRequiredService<TrainingJobQueue>(),
            sp.GetRequiredService<NodeRunner>(),
            sp.GetRequiredService<IBlobStore>(),
            PrivateFiles.CreateDirectory(Path.GetFullPath(pipelines.ScratchFolder)),
            sp.GetRequiredService<HttpClient>(),
            sp.GetRequiredService<ILogger<TrainingJobWorker>>()));
        return builder.Build();
    }

    /// <summary>The ML and shipping components (Trainer and Tuner trials in this process), as the function app registers them.</summary>
    public static void DefaultComponents(ComponentRegistry registry, IMetadataStore metadata, PipelineHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        Serverless.Ml.Components.MlComponents.Register(registry, metadata);
        Serverless.Ml.Components.ShippingComponents.Register(registry, metadata, new Serverless.Ml.Components.ShippingOptions { PushDestination = Path.GetFullPath(options.ServingRepository) });
    }
}

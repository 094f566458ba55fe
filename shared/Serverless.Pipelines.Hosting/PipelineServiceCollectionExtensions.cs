using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Ml.Components.Tuner;
using Serverless.Storage;

namespace Serverless.Pipelines.Hosting;

/// <summary>
/// Registers the pipeline services that the pipeline orchestrator and its activities get through DI: the
/// <see cref="PipelineRuntime"/> and, from it, the <see cref="ComponentRegistry"/>, the <see cref="NodeRunner"/>, the
/// <see cref="IBlobStore"/> and the <see cref="PipelineLimits"/>. The same registration serves the local host and an
/// Azure Functions isolated app (which registers the orchestrator classes through its own source generator).
/// </summary>
public static class PipelineServiceCollectionExtensions
{
    /// <summary>Adds the pipeline services over the registered <see cref="DurableTaskClient"/>.</summary>
    /// <param name="services">The app's services.</param>
    /// <param name="options">The pipeline settings (folders, roots, limits, artifact store).</param>
    /// <param name="time">The clock of triggers and run ids; default the system clock.</param>
    /// <param name="readAppSetting">Reads app settings (the artifact store's connection); default environment variables.</param>
    public static IServiceCollection AddPipelineRuntime(this IServiceCollection services, PipelineHostOptions options, TimeProvider? time = null, Func<string, string?>? readAppSetting = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(options);
        services.AddSingleton(options.Limits);
        services.AddSingleton(sp =>
        {
            var client = sp.GetRequiredService<DurableTaskClient>();
            // The Tuner's trials are durable activities (TunerTrials orchestration), started from the Tuner's activity.
            return new PipelineRuntime(options, client, time, readAppSetting).WithMlComponents(new DurableTrialRunner(client));
        });
        services.AddSingleton(sp => sp.GetRequiredService<PipelineRuntime>().Components);
        services.AddSingleton(sp => sp.GetRequiredService<PipelineRuntime>().Runner);
        services.AddSingleton(sp => sp.GetRequiredService<PipelineRuntime>().Blobs);
        return services;
    }
}

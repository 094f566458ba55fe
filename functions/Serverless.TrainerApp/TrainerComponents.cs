using Serverless.Metadata;
using Serverless.Pipelines;
using Serverless.Pipelines.Hosting;
using Serverless.Pipelines.Hosting.GpuJobs;

namespace Serverless.TrainerApp;

/// <summary>
/// The components the trainer app runs jobs with: the one place to add trainer-only engines (e.g. a TorchSharp Trainer
/// engine that the function app must not carry) or replace a component with a GPU build.
/// </summary>
public static class TrainerComponents
{
    /// <summary>Registers the components into <paramref name="registry"/> (built-ins and <c>componentAssemblies</c> are already in).</summary>
    public static void Register(ComponentRegistry registry, IMetadataStore metadata, PipelineHostOptions options)
    {
        // engine: torchsharp for the Trainer (process-wide engine table; the function app and CLI have only "managed").
        Serverless.Ml.Components.Torch.TorchTrainerEngine.Register();
        TrainerAppHost.DefaultComponents(registry, metadata, options);
    }
}

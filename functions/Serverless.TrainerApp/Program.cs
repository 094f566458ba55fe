using Microsoft.Extensions.Hosting;
using Serverless.Pipelines.Hosting;

// A worker-only process on the app's task hub: `dotnet Serverless.TrainerApp.dll [--host-json PATH] [--home DIR]` (--help lists them).
// Durable Functions has no worker pools, so it takes any pipeline work the provider hands it (more capacity beside the
// function app); the GPU job queue is to make it the dedicated trainer again.
return await PipelineAppCommandLine.RunTrainerAppAsync(args, Console.Out, Console.Error, async (options, cancellation) =>
{
    using var host = PipelineAppHost.BuildWorker(options);
    await host.StartAsync(cancellation);
    Console.WriteLine($"trainer app ready: pid {Environment.ProcessId}, host.json {options.HostJsonPath ?? "(defaults)"}");
    await host.WaitForShutdownAsync(cancellation);
    return 0;
});

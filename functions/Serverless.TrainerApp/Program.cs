using Microsoft.Extensions.Hosting;
using Serverless.Hosting.Configuration;
using Serverless.Pipelines.Hosting;
using Serverless.Pipelines.Hosting.GpuJobs;
using Serverless.TrainerApp;

// The GPU app: a queue worker on host.json's extensions.pipelines.trainerJobs, `dotnet Serverless.TrainerApp.dll
// [--host-json PATH] [--home DIR]` (--help lists them). No task hub: it reaches the orchestration only through each job's
// callback (Durable Functions' sendEventPostUri).
return await PipelineAppCommandLine.RunTrainerAppAsync(args, Console.Out, Console.Error, async (options, cancellation) =>
{
    IHost host;
    try
    {
        host = TrainerAppHost.Build(options, TrainerComponents.Register);
    }
    catch (Exception e) when (e is HostJsonException or InvalidOperationException or IOException)
    {
        await Console.Error.WriteLineAsync($"error: {e.Message}");
        return 1;
    }

    using (host)
    {
        await host.StartAsync(cancellation);
        Console.WriteLine($"trainer app ready: pid {Environment.ProcessId}, host.json {options.HostJsonPath ?? "(defaults)"}");
        await host.WaitForShutdownAsync(cancellation);
    }

    return 0;
});

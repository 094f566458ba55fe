using Microsoft.Extensions.Hosting;
using Serverless.Pipelines.Hosting;

// A worker-only process on the app's task hub: `dotnet Serverless.TrainerApp.dll [--host-json PATH] [--home DIR]`.
// Durable Functions has no worker pools, so it takes any pipeline work the provider hands it (more capacity beside the
// function app); the GPU job queue is to make it the dedicated trainer again.
var options = new PipelineAppOptions { HostJsonPath = File.Exists("host.json") ? Path.GetFullPath("host.json") : null, EnableTriggers = false };
for (var i = 0; i < args.Length; i += 2)
{
    if (i + 1 >= args.Length)
    {
        Console.Error.WriteLine($"option '{args[i]}' needs a value");
        return 2;
    }

    switch (args[i])
    {
        case "--host-json": options.HostJsonPath = Path.GetFullPath(args[i + 1]); break;
        case "--home": options.HomeDirectory = Path.GetFullPath(args[i + 1]); break;
        default:
            Console.Error.WriteLine($"unknown option '{args[i]}'; options: --host-json, --home");
            return 2;
    }
}

using var host = PipelineAppHost.BuildWorker(options);
await host.StartAsync();
Console.WriteLine($"trainer app ready: pid {Environment.ProcessId}, host.json {options.HostJsonPath ?? "(defaults)"}");
await host.WaitForShutdownAsync();
return 0;

using Serverless.Pipelines.Hosting;

// The function app process: `dotnet run --project functions/Serverless.FunctionApp -- [--urls URL] [--host-json PATH] [--access-key KEY]`.
var options = new PipelineAppOptions { HostJsonPath = File.Exists("host.json") ? Path.GetFullPath("host.json") : null };
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--urls": options.Urls = args[i + 1]; break;
        case "--host-json": options.HostJsonPath = args[i + 1]; break;
        case "--access-key": options.AccessKey = args[i + 1]; break;
        case "--home": options.HomeDirectory = args[i + 1]; break;
        default:
            Console.Error.WriteLine($"unknown option '{args[i]}'; options: --urls, --host-json, --access-key, --home");
            return 2;
    }
}
var app = PipelineAppHost.Build(options);
await app.RunAsync();
return 0;

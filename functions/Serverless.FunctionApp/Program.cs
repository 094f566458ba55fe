using Serverless.Pipelines.Hosting;

// The function app process: `dotnet run --project functions/Serverless.FunctionApp -- --help` lists the options
// (--urls, --host-json, --access-key, --home); the command line lives in PipelineAppCommandLine so tests parse it in-process.
return await PipelineAppCommandLine.RunFunctionAppAsync(args, Console.Out, Console.Error, async (options, cancellation) =>
{
    var app = PipelineAppHost.Build(options);
    await app.RunAsync(cancellation);
    return 0;
});

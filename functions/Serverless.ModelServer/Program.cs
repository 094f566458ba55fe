using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Serverless.ModelServer;

// The model server. `Serverless.ModelServer --help` lists every option with its default (ModelServerCommandLine).
// Signals (Ctrl+C, SIGTERM) are left to ASP.NET Core's console lifetime, which stops Kestrel and unloads models.
return await ModelServerCommandLine.Create(async (options, cancellation) =>
    {
        await using var app = ModelServerHost.Build(options);
        await HostingAbstractionsHostExtensions.RunAsync(app, cancellation);
        return 0;
    })
    .Parse(args)
    .InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

using Microsoft.Extensions.Logging;
using Serverless.TrainerApp;

// The trainer worker process: `dotnet Serverless.TrainerApp.dll [--host-json PATH] [--home DIR] [--pools gpu] [--lock-timeout S]`.
TrainerWorkerOptions options;
try
{
    options = TrainerWorkerOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
await using var worker = new TrainerWorker(options, loggers);
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
await worker.StartAsync(stop.Token);
Console.WriteLine($"trainer app ready: pid {Environment.ProcessId}, pools {string.Join(",", worker.Pools)}, host.json {options.HostJsonPath ?? "(defaults)"}");
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}

await worker.StopAsync();
return 0;

using System.Globalization;
using Serverless.ModelServer;
using Serverless.Serving;

// The model server: `dotnet run --project functions/Serverless.ModelServer -- [--urls URL] [--repository DIR]
//   [--model NAME]... [--label MODEL:LABEL=VERSION]... [--keep-versions N] [--poll-seconds S]
//   [--max-batch-size N] [--batch-timeout-us U] [--no-batching] [--max-body-bytes B]
//   [--azure-container C [--azure-connection-setting ENV_NAME | --azure-connection-string CS]] [--quiet]`.
// The connection string comes from the environment: ENV_NAME, default AzureWebJobsStorage (--azure-connection-string
// still works but shows the secret in the process list).
var options = new ModelServerOptions();
var models = new Dictionary<string, ModelConfig>(StringComparer.Ordinal);
ModelConfig Model(string name) => models.TryGetValue(name, out var m) ? m : models[name] = new ModelConfig { Name = name };
int keep = 1, maxBatch = 64;
double poll = 1, waitUs = 2000;
var batching = true;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--urls": options.Urls = Next(); break;
        case "--repository": options.RepositoryDirectory = Next(); break;
        case "--prefix": options.RepositoryPrefix = Next(); break;
        case "--azure-connection-string": options.AzureConnectionString = Next(); break;
        case "--azure-container": options.AzureContainer = Next(); break;
        case "--azure-connection-setting": options.AzureConnectionString = Environment.GetEnvironmentVariable(Next()); break;
        case "--model": Model(Next()); break;
        case "--label":
            var spec = Next();
            var colon = spec.IndexOf(':', StringComparison.Ordinal);
            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            if (colon <= 0 || eq < colon + 2 || !long.TryParse(spec[(eq + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                Console.Error.WriteLine($"--label wants MODEL:LABEL=VERSION, got '{spec}'");
                return 2;
            }
            Model(spec[..colon]).VersionLabels[spec[(colon + 1)..eq]] = version;
            break;
        case "--keep-versions": keep = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--poll-seconds": poll = double.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--max-batch-size": maxBatch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--batch-timeout-us": waitUs = double.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--no-batching": batching = false; break;
        case "--max-body-bytes": options.MaxRequestBodyBytes = long.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--quiet": options.Quiet = true; break;
        default:
            Console.Error.WriteLine($"unknown option '{args[i]}'; see the comment at the top of Program.cs or functions/Serverless.ModelServer's README");
            return 2;
    }
}
// A connection string on the command line is readable by every local user (the process list): the setting named by
// --azure-connection-setting, or AzureWebJobsStorage when only --azure-container is given, keeps it in the environment.
if (string.IsNullOrEmpty(options.AzureConnectionString) && args.Contains("--azure-container"))
{
    options.AzureConnectionString = Environment.GetEnvironmentVariable("AzureWebJobsStorage");
}

options.Serving = new ServingOptions
{
    Models = models.Values.ToList(),
    KeepVersions = keep,
    PollInterval = TimeSpan.FromSeconds(poll),
    Batching = new BatchingOptions { Enabled = batching, MaxBatchSize = maxBatch, MaxWait = TimeSpan.FromMicroseconds(waitUs) },
};
var app = ModelServerHost.Build(options);
await app.RunAsync();
return 0;

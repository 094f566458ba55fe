using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Serverless.Serving;

namespace Serverless.ModelServer;

/// <summary>
/// The model server's command line on System.CommandLine: every option with its description and default, so
/// <c>--help</c> documents the server (exit code 0), and a mistake is answered with the option's name and exit
/// code 1. <see cref="Parse"/> turns arguments into <see cref="ModelServerOptions"/>; <see cref="Create"/> wires the
/// action that runs the server.
/// </summary>
public static class ModelServerCommandLine
{
    /// <summary>The environment variable the access key may come from (instead of <c>--access-key-file</c>).</summary>
    public const string AccessKeyVariable = "SERVERLESS_MODEL_SERVER_KEY";

    /// <summary>
    /// The root command; its action turns the parse result into options and calls <paramref name="run"/>
    /// (which returns the exit code).
    /// </summary>
    public static RootCommand Create(Func<ModelServerOptions, CancellationToken, Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var o = new Definition();
        var root = new RootCommand(
            "The model server: TensorFlow Serving's REST API (/v1/models/{name}[/versions/{v}|/labels/{l}][:predict|:classify|:regress|/metadata]) over a model repository of ONNX models.");
        foreach (var option in o.All) root.Options.Add(option);
        root.SetAction(async (result, cancellation) =>
        {
            ModelServerOptions options;
            try
            {
                options = o.ToOptions(result);
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
            {
                await result.InvocationConfiguration.Error.WriteLineAsync(e.Message);
                return 1;
            }
            return await run(options, cancellation);
        });
        return root;
    }

    /// <summary>Parses <paramref name="args"/> into options (for tests and hosts that start the server in-process).</summary>
    /// <exception cref="ArgumentException">The arguments are invalid; the message lists every error.</exception>
    public static ModelServerOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var o = new Definition();
        var root = new RootCommand();
        foreach (var option in o.All) root.Options.Add(option);
        var result = root.Parse(args);
        if (result.Errors.Count > 0) throw new ArgumentException(string.Join(" ", result.Errors.Select(e => e.Message)), nameof(args));
        return o.ToOptions(result);
    }

    // One set of options per command: System.CommandLine symbols keep their validators and belong to one parent.

    private sealed class Definition
    {
        public readonly Option<string> Urls = new("--urls")
        {
            Description = "Where to listen; port 0 picks a free one.",
            DefaultValueFactory = _ => "http://127.0.0.1:8501",
            HelpName = "URL",
        };

        public readonly Option<string?> Repository = new("--repository")
        {
            Description = "The model repository folder ({model}/{version}/model.onnx + _READY). Default: $SERVERLESS_HOME/models, else ~/.serverless-ml/models.",
            HelpName = "DIR",
        };

        public readonly Option<string> Prefix = new("--prefix")
        {
            Description = "A name prefix inside the store under which the models live.",
            DefaultValueFactory = _ => "",
            HelpName = "PREFIX",
        };

        public readonly Option<string?> AzureConnectionString = new("--azure-connection-string")
        {
            Description = "Serve from Azure Blob Storage instead of a folder (with --azure-container).",
            HelpName = "CS",
        };

        public readonly Option<string?> AzureConnectionSetting = new("--azure-connection-setting")
        {
            Description = "The environment variable holding the Azure connection string (default AzureWebJobsStorage when --azure-container is given); keeps the secret out of the process list.",
            HelpName = "ENV_NAME",
        };

        public readonly Option<string> AzureContainer = new("--azure-container")
        {
            Description = "The blob container holding the repository.",
            DefaultValueFactory = _ => "models",
            HelpName = "NAME",
        };

        public readonly Option<string[]> Models = new("--model")
        {
            Description = "Serve only this model (repeat for several). Default: every model in the repository.",
            HelpName = "NAME",
            AllowMultipleArgumentsPerToken = false,
        };

        public readonly Option<string[]> Labels = new("--label")
        {
            Description = "A version label, e.g. penguins:stable=1 (repeat for several). A labelled version stays loaded.",
            HelpName = "MODEL:LABEL=VERSION",
        };

        public readonly Option<int> KeepVersions = new("--keep-versions")
        {
            Description = "How many of the newest loaded versions stay loaded (labelled ones on top).",
            DefaultValueFactory = _ => 1,
            HelpName = "N",
        };

        public readonly Option<double> PollSeconds = new("--poll-seconds")
        {
            Description = "How often the repository is polled for new versions, in seconds.",
            DefaultValueFactory = _ => 1.0,
            HelpName = "S",
        };

        public readonly Option<int> MaxBatchSize = new("--max-batch-size")
        {
            Description = "Most rows in one ONNX Runtime call when concurrent requests are batched.",
            DefaultValueFactory = _ => 64,
            HelpName = "N",
        };

        public readonly Option<double> BatchTimeoutMicros = new("--batch-timeout-us")
        {
            Description = "Longest a queued request waits for others to join its batch, in microseconds.",
            DefaultValueFactory = _ => 2000.0,
            HelpName = "US",
        };

        public readonly Option<bool> NoBatching = new("--no-batching")
        {
            Description = "Run every request on its own.",
        };

        public readonly Option<long> MaxBodyBytes = new("--max-body-bytes")
        {
            Description = "Request bodies above this size are answered with 413.",
            DefaultValueFactory = _ => 16L * 1024 * 1024,
            HelpName = "BYTES",
        };

        public readonly Option<int> MaxRequestRows = new("--max-request-rows")
        {
            Description = "Most rows (instances, examples) in one request; more are answered with 413.",
            DefaultValueFactory = _ => 10_000,
            HelpName = "N",
        };

        public readonly Option<int> MaxResponseBytes = new("--max-response-bytes")
        {
            Description = "Largest response; a larger one is answered with 413 (send fewer rows).",
            DefaultValueFactory = _ => 64 * 1024 * 1024,
            HelpName = "BYTES",
        };

        public readonly Option<FileInfo?> AccessKeyFile = new("--access-key-file")
        {
            Description = $"Require this key (the file's first line) on every request: 'Authorization: Bearer KEY' or 'x-functions-key: KEY'. Also read from ${AccessKeyVariable}. Default: no key, as TF Serving (keep --urls on loopback then).",
            HelpName = "FILE",
        };

        public readonly Option<bool> Quiet = new("--quiet")
        {
            Description = "Log warnings and errors only.",
        };

        public Definition()
        {
            AtLeast(KeepVersions, 1);
            AtLeast(MaxBatchSize, 1);
            AtLeast(MaxBodyBytes, 1);
            AtLeast(MaxRequestRows, 1);
            AtLeast(MaxResponseBytes, 1024);
            PollSeconds.Validators.Add(r =>
            {
                if (TryGet(r, out double seconds) && !(seconds > 0)) r.AddError("--poll-seconds must be greater than 0.");
            });
            BatchTimeoutMicros.Validators.Add(r =>
            {
                if (TryGet(r, out double micros) && !(micros >= 0)) r.AddError("--batch-timeout-us must be 0 or more.");
            });
            Labels.Validators.Add(r =>
            {
                foreach (var spec in TryGet(r, out string[]? specs) ? specs ?? [] : [])
                    if (ParseLabel(spec) is null) r.AddError($"--label wants MODEL:LABEL=VERSION with a positive version, got '{spec}'.");
            });
            AccessKeyFile.Validators.Add(r =>
            {
                if (TryGet(r, out FileInfo? file) && file is not null && !file.Exists) r.AddError($"--access-key-file: '{file.FullName}' does not exist.");
            });
        }

        public Option[] All => [Urls, Repository, Prefix, AzureConnectionString, AzureConnectionSetting, AzureContainer, Models, Labels, KeepVersions, PollSeconds, MaxBatchSize, BatchTimeoutMicros, NoBatching, MaxBodyBytes, MaxRequestRows, MaxResponseBytes, AccessKeyFile, Quiet];

        // A connection string on the command line is readable by every local user (the process list): the variable named
        // by --azure-connection-setting, or AzureWebJobsStorage when only --azure-container is given, keeps it private.
        private string? ConnectionString(ParseResult result)
        {
            var literal = result.GetValue(AzureConnectionString);
            if (!string.IsNullOrEmpty(literal)) return literal;
            var setting = result.GetValue(AzureConnectionSetting);
            if (setting is null && result.GetResult(AzureContainer) is { Implicit: false }) setting = "AzureWebJobsStorage";
            return setting is null ? null : Environment.GetEnvironmentVariable(setting);
        }

        public ModelServerOptions ToOptions(ParseResult result)
        {
            var models = new Dictionary<string, ModelConfig>(StringComparer.Ordinal);
            ModelConfig Model(string name) => models.TryGetValue(name, out var m) ? m : models[name] = new ModelConfig { Name = name };
            foreach (var name in result.GetValue(Models) ?? []) Model(name);
            foreach (var spec in result.GetValue(Labels) ?? [])
            {
                var (model, label, version) = ParseLabel(spec)!.Value;
                Model(model).VersionLabels[label] = version;
            }
            return new ModelServerOptions
            {
                Urls = result.GetValue(Urls)!,
                RepositoryDirectory = result.GetValue(Repository),
                RepositoryPrefix = result.GetValue(Prefix)!,
                AzureConnectionString = ConnectionString(result),
                AzureContainer = result.GetValue(AzureContainer)!,
                MaxRequestBodyBytes = result.GetValue(MaxBodyBytes),
                MaxRequestRows = result.GetValue(MaxRequestRows),
                MaxResponseBytes = result.GetValue(MaxResponseBytes),
                AccessKey = ReadAccessKey(result.GetValue(AccessKeyFile)),
                Quiet = result.GetValue(Quiet),
                Serving = new ServingOptions
                {
                    Models = models.Values.ToList(),
                    KeepVersions = result.GetValue(KeepVersions),
                    PollInterval = TimeSpan.FromSeconds(result.GetValue(PollSeconds)),
                    Batching = new BatchingOptions
                    {
                        Enabled = !result.GetValue(NoBatching),
                        MaxBatchSize = result.GetValue(MaxBatchSize),
                        MaxWait = TimeSpan.FromMicroseconds(result.GetValue(BatchTimeoutMicros)),
                    },
                },
            };
        }
    }

    // The key never comes from an argument: process lists show arguments to every local user.
    private static string? ReadAccessKey(FileInfo? file)
    {
        var key = file is not null
            ? File.ReadLines(file.FullName).FirstOrDefault()?.Trim()
            : Environment.GetEnvironmentVariable(AccessKeyVariable)?.Trim();
        if (key is null) return null;
        if (key.Length == 0)
            throw new ArgumentException(file is not null ? $"--access-key-file '{file.FullName}' holds no key on its first line." : $"${AccessKeyVariable} is set but empty.");
        return key;
    }

    private static (string Model, string Label, long Version)? ParseLabel(string spec)
    {
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var eq = spec.IndexOf('=', StringComparison.Ordinal);
        if (colon <= 0 || eq < colon + 2) return null;
        if (!long.TryParse(spec.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version < 1) return null;
        return (spec[..colon], spec[(colon + 1)..eq], version);
    }

    private static void AtLeast<T>(Option<T> option, T minimum) where T : IComparable<T> =>
        option.Validators.Add(r =>
        {
            if (TryGet(r, out T value) && value.CompareTo(minimum) < 0) r.AddError($"{option.Name} must be at least {minimum}.");
        });

    // Validators run even when the value did not convert ("--max-request-rows lots"); that error is already reported.
    private static bool TryGet<T>(OptionResult result, out T value)
    {
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default!;
            return false;
        }
    }
}

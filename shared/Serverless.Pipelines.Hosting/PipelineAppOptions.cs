using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Serverless.Hosting;

namespace Serverless.Pipelines.Hosting;

/// <summary>Settings of the local pipeline host (<see cref="PipelineAppHost"/>). Defaults give a working app with no set-up.</summary>
public sealed class PipelineAppOptions
{
    /// <summary>Path of host.json (Durable Functions' schema plus <c>extensions.pipelines</c>). Default null: built-in
    /// defaults (the SQLite provider under <see cref="HomeDirectory"/>). The function app's entry point passes <c>host.json</c>
    /// from the current directory when there is one.</summary>
    public string? HostJsonPath { get; set; }

    /// <summary>The app's home folder for embedded state (SQLite files, local blobs). Default <c>$SERVERLESS_HOME</c> or <c>~/.serverless-ml</c>.</summary>
    public string HomeDirectory { get; set; } = DurableHostingOptions.DefaultHomeDirectory();

    /// <summary>Kestrel URL(s). Default <c>http://127.0.0.1:7071</c> (the Functions host's port): loopback only unless configured.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:7071";

    /// <summary>
    /// The key every HTTP request needs (<c>x-functions-key</c> header or <c>code</c> query). Default null: the
    /// <c>SERVERLESS_ACCESS_KEY</c> environment variable, else the key file <c>{home}/access-key</c>, generated (256 random
    /// bits, mode 0600) and printed once on first start. There is no keyless mode.
    /// </summary>
    public string? AccessKey { get; set; }

    /// <summary>Registers the app's own orchestrators and activities with the SDK's registry (the samples, the pipeline
    /// orchestrator and the Tuner trials are always registered).</summary>
    public Action<DurableTaskRegistry>? Register { get; set; }

    /// <summary>Whether this process runs orchestrations and activities. Default true; false gives a host that only starts,
    /// queries and manages instances (its HTTP APIs work, nothing runs here).</summary>
    public bool RunWorker { get; set; } = true;

    /// <summary>Looks up app settings (the durable connection, the artifact store's connection). Default: environment variables.</summary>
    public Func<string, string?> ReadAppSetting { get; set; } = Environment.GetEnvironmentVariable;

    /// <summary>Minimum log level. Default Information.</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    /// <summary>Pipeline settings; default null: host.json <c>extensions.pipelines</c> over defaults under <see cref="HomeDirectory"/>.</summary>
    public PipelineHostOptions? Pipelines { get; set; }

    /// <summary>The clock of the triggers (tests fake it to fire timers). Default the system clock.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Whether the blob and timer triggers run in the background. Default true (the CLI's <c>run</c> turns them off).</summary>
    public bool EnableTriggers { get; set; } = true;
}

using System.CommandLine;
using Serverless.Pipelines.Hosting.Cli;

namespace Serverless.Pipelines.Hosting;

/// <summary>
/// The command lines of the function app and the trainer app on System.CommandLine, here rather than in their
/// <c>Program.cs</c> so tests parse them in-process: <c>--help</c> lists every option (exit 0), a mistake names the
/// option (exit 2), and valid arguments become <see cref="PipelineAppOptions"/> handed to the caller's delegate,
/// which starts the host and returns the exit code.
/// </summary>
public static class PipelineAppCommandLine
{
    /// <summary>The function app: <c>--urls</c>, <c>--host-json</c>, <c>--access-key</c>, <c>--home</c>.</summary>
    public static Task<int> RunFunctionAppAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<PipelineAppOptions, CancellationToken, Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(run);
        var urls = new Option<string?>("--urls") { Description = "Where to listen, ;-separated (default http://127.0.0.1:7071); port 0 picks a free one.", HelpName = "URL" };
        var hostJson = HostJsonOption();
        var accessKey = AccessKeyOption();
        var home = HomeOption();
        var root = new RootCommand("The function app: Durable Functions' HTTP API, the pipeline API and dashboard, blob and timer triggers, and a worker.") { urls, hostJson, accessKey, home };
        root.SetAction((result, cancellation) =>
        {
            var options = new PipelineAppOptions { HostJsonPath = Path.Exists("host.json") ? Path.GetFullPath("host.json") : null };
            if (result.GetValue(urls) is { } u) options.Urls = u;
            if (result.GetValue(hostJson) is { } h) options.HostJsonPath = Path.GetFullPath(h);
            if (result.GetValue(accessKey) is { } k) options.AccessKey = k;
            if (result.GetValue(home) is { } d) options.HomeDirectory = Path.GetFullPath(d);
            return run(options, cancellation);
        });
        return CommandLineInvoker.InvokeAsync(root, args, stdout, stderr);
    }

    /// <summary>The trainer app (a worker on the GPU job queue of host.json's <c>extensions.pipelines.trainerJobs</c>; no task hub,
    /// no HTTP, no triggers): <c>--host-json</c>, <c>--home</c>.</summary>
    public static Task<int> RunTrainerAppAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<PipelineAppOptions, CancellationToken, Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(run);
        var hostJson = HostJsonOption();
        var home = HomeOption();
        var root = new RootCommand("The trainer app: works off the GPU job queue (host.json extensions.pipelines.trainerJobs): leases a job, runs the node with checkpoints, raises the job's event through its callback.") { hostJson, home };
        root.SetAction((result, cancellation) =>
        {
            var options = new PipelineAppOptions { HostJsonPath = Path.Exists("host.json") ? Path.GetFullPath("host.json") : null, EnableTriggers = false };
            if (result.GetValue(hostJson) is { } h) options.HostJsonPath = Path.GetFullPath(h);
            if (result.GetValue(home) is { } d) options.HomeDirectory = Path.GetFullPath(d);
            return run(options, cancellation);
        });
        return CommandLineInvoker.InvokeAsync(root, args, stdout, stderr);
    }

    // One instance per command: a System.CommandLine symbol keeps its parent.
    internal static Option<string?> HostJsonOption() => new("--host-json")
    {
        Description = "The host.json to read (extensions.durableTask, extensions.pipelines). Default: ./host.json if it exists, else built-in defaults.",
        HelpName = "FILE",
    };

    internal static Option<string?> AccessKeyOption() => new("--access-key")
    {
        Description = "The HTTP API key. Default: $SERVERLESS_ACCESS_KEY, else {home}/access-key (generated on first start, mode 0600). This option shows the key in the process list.",
        HelpName = "KEY",
    };

    internal static Option<string?> HomeOption() => new("--home")
    {
        Description = "The state folder (SQLite files, blobs, pipelines/). Default: $SERVERLESS_HOME, else ~/.serverless-ml.",
        HelpName = "DIR",
    };
}

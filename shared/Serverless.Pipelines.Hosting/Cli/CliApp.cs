using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Serverless.Pipelines.Hosting.Cli;

/// <summary>
/// The <c>pipelines</c> command line. <c>sample</c> runs the sample workflow end to end through the real
/// stack: the SQLite provider under DTFx, the worker, Kestrel on a loopback port, Durable Functions' HTTP API.
/// <c>serve</c> starts the function app and runs until stopped. The command line is System.CommandLine's: every command
/// answers <c>--help</c>, and a mistake names the option or argument.
/// </summary>
public static class CliApp
{
    /// <summary>Runs a command; returns the process exit code (0 done, 1 failed, 2 a usage mistake, named on stderr).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var root = Create(stdout, stderr);
        if (args.Length == 0)
        {
            // No command: the overview, as a usage mistake (a script that forgot its command must not look successful).
            await root.Parse(["--help"]).InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr });
            return CommandLineInvoker.UsageError;
        }

        return await CommandLineInvoker.InvokeAsync(root, args[0] == "help" ? ["--help", .. args[1..]] : args, stdout, stderr);
    }

    private static RootCommand Create(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand(
            "The pipeline host's command line: run pipelines on the local durable runtime, inspect runs and lineage, serve the function app. "
            + "State lives in --home (default $SERVERLESS_HOME, else ~/.serverless-ml).");

        var run = new Command("run", "Run a pipeline: progress per node, the artifacts table at the end; exit 0 when it succeeded.");
        var file = new Argument<string>("PIPELINE_FILE") { Description = "The pipeline YAML file; its folder is an input root." };
        var param = new Option<string[]>("--param")
        {
            Description = "A run parameter: node.param=value, or param=value for every node that has it (repeat for several).",
            HelpName = "K=V",
            AllowMultipleArgumentsPerToken = false,
        };
        param.Validators.Add(r =>
        {
            foreach (var value in r.GetValueOrDefault<string[]>() ?? [])
            {
                if (value.IndexOf('=', StringComparison.Ordinal) <= 0) r.AddError($"--param '{value}': expected KEY=VALUE");
            }
        });
        var from = new Option<string?>("--from") { Description = "Start at this node: its upstream comes from the cache (the newest successful outputs).", HelpName = "NODE" };
        var runId = new Option<string?>("--run-id") { Description = "The run id (default PIPELINE-TIMESTAMP). The id of a run whose process died resumes that run.", HelpName = "ID" };
        run.Arguments.Add(file);
        run.Options.Add(param);
        run.Options.Add(from);
        run.Options.Add(runId);
        Action(run, async (r, o) =>
        {
            var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in r.GetValue(param) ?? [])
            {
                var eq = p.IndexOf('=', StringComparison.Ordinal);
                parameters[p[..eq]] = p[(eq + 1)..];
            }

            Put(o, "from", r.GetValue(from));
            Put(o, "run-id", r.GetValue(runId));
            return await PipelineCommands.RunAsync(r.GetRequiredValue(file), parameters, o, stdout, stderr);
        });

        var runs = new Command("runs", "List the pipeline runs, oldest first.");
        Action(runs, (_, o) => PipelineCommands.RunsAsync(o, stdout));

        var status = new Command("status", "A run's state, nodes, durations and artifacts.");
        var statusRun = new Argument<string>("RUN") { Description = "The run id." };
        status.Arguments.Add(statusRun);
        Action(status, (r, o) => PipelineCommands.StatusAsync(r.GetRequiredValue(statusRun), o, stdout));

        var lineage = new Command("lineage", "The upstream lineage of an artifact: the artifacts and executions it came from.");
        var what = new Argument<string>("ARTIFACT_OR_MODEL") { Description = "An artifact id, its URI, RUN/NODE[.OUTPUT], or an artifact type (e.g. Model: the newest of that type)." };
        lineage.Arguments.Add(what);
        Action(lineage, (r, o) => PipelineCommands.LineageAsync(r.GetRequiredValue(what), o, stdout, stderr));

        var sample = new Command("sample", "Run the sample durable workflow, then the sample pipeline (cold, then cached) end to end.");
        var cities = new Option<string?>("--cities") { Description = "The cities the sample workflow greets, comma-separated (default Tokyo,Seattle,London,Lagos,Lima).", HelpName = "A,B,C" };
        sample.Options.Add(cities);
        var sampleHttp = HttpOptions(sample, "http://127.0.0.1:0");
        Action(sample, (r, o) =>
        {
            Put(o, "cities", r.GetValue(cities));
            sampleHttp(r, o);
            return SampleAsync(o, stdout);
        });

        var serve = new Command("serve", "Start the function app (HTTP API, dashboard, blob and timer triggers) until stopped.");
        var serveHttp = HttpOptions(serve, "http://127.0.0.1:7071");
        Action(serve, (r, o) =>
        {
            serveHttp(r, o);
            return ServeAsync(o);
        });

        foreach (var command in new[] { run, runs, status, lineage, sample, serve })
        {
            root.Subcommands.Add(command);
        }

        return root;

        // Every command takes --home and --host-json (the provider and extensions.pipelines come from it); a failure the
        // command reports (bad file, bad host.json) is exit code 1 with its message.
        void Action(Command command, Func<ParseResult, Dictionary<string, string>, Task<int>> body)
        {
            var home = PipelineAppCommandLine.HomeOption();
            var hostJson = PipelineAppCommandLine.HostJsonOption();
            command.Options.Add(home);
            command.Options.Add(hostJson);
            command.SetAction(async (r, _) =>
            {
                var o = new Dictionary<string, string>(StringComparer.Ordinal);
                Put(o, "home", r.GetValue(home));
                Put(o, "host-json", r.GetValue(hostJson));
                try
                {
                    return await body(r, o);
                }
                catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException or Serverless.Hosting.Configuration.HostJsonException)
                {
                    await stderr.WriteLineAsync($"error: {ex.Message}");
                    return 1;
                }
            });
        }
    }

    // The commands that start the HTTP app: where it listens and its key.
    private static Action<ParseResult, Dictionary<string, string>> HttpOptions(Command command, string defaultUrls)
    {
        var urls = new Option<string?>("--urls") { Description = $"Where to listen, ;-separated (default {defaultUrls}); port 0 picks a free one.", HelpName = "URL" };
        var accessKey = PipelineAppCommandLine.AccessKeyOption();
        command.Options.Add(urls);
        command.Options.Add(accessKey);
        return (r, o) =>
        {
            Put(o, "urls", r.GetValue(urls));
            Put(o, "access-key", r.GetValue(accessKey));
        };
    }

    private static void Put(Dictionary<string, string> o, string key, string? value)
    {
        if (value is not null) o[key] = value;
    }

    internal static PipelineAppOptions AppOptions(Dictionary<string, string> o, string urls)
    {
        var options = new PipelineAppOptions { Urls = o.GetValueOrDefault("urls", urls), LogLevel = LogLevel.Warning };
        if (o.TryGetValue("home", out var home)) options.HomeDirectory = Path.GetFullPath(home);
        if (o.TryGetValue("host-json", out var hostJson)) options.HostJsonPath = Path.GetFullPath(hostJson);
        if (o.TryGetValue("access-key", out var key)) options.AccessKey = key;
        return options;
    }

    private static async Task<int> ServeAsync(Dictionary<string, string> o)
    {
        var options = AppOptions(o, "http://127.0.0.1:7071");
        options.LogLevel = LogLevel.Information;
        var app = PipelineAppHost.Build(options);
        await app.RunAsync();
        return 0;
    }

    private static async Task<int> SampleAsync(Dictionary<string, string> o, TextWriter stdout)
    {
        var options = AppOptions(o, "http://127.0.0.1:0");
        var cities = o.GetValueOrDefault("cities", "Tokyo,Seattle,London,Lagos,Lima").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var app = PipelineAppHost.Build(options);
        await app.StartAsync();
        try
        {
            var baseUri = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            await stdout.WriteLineAsync($"function app listening on {baseUri} (state in {options.HomeDirectory})");
            using var http = new HttpClient { BaseAddress = new Uri(baseUri) };
            http.DefaultRequestHeaders.Add("x-functions-key", app.Services.GetRequiredService<HostAccessKey>().Key);
            var sw = Stopwatch.StartNew();
            var start = await http.PostAsJsonAsync("/runtime/webhooks/durabletask/orchestrators/SampleWorkflow",
                new { Cities = cities, PauseSeconds = 1.0 });
            if ((int)start.StatusCode != 202) throw new InvalidDataException($"start failed: HTTP {(int)start.StatusCode} {await start.Content.ReadAsStringAsync()}");
            var payload = await start.Content.ReadFromJsonAsync<JsonObject>() ?? throw new InvalidDataException("empty start response");
            var statusUri = payload["statusQueryGetUri"]!.GetValue<string>();
            await stdout.WriteLineAsync($"started instance {payload["id"]} -> {statusUri}");
            string? lastStatus = null;
            JsonObject status;
            while (true)
            {
                using var resp = await http.GetAsync(statusUri);
                status = await resp.Content.ReadFromJsonAsync<JsonObject>() ?? throw new InvalidDataException("empty status response");
                var line = $"  {status["runtimeStatus"]} {status["customStatus"]?.ToJsonString()}";
                if (line != lastStatus) await stdout.WriteLineAsync(line);
                lastStatus = line;
                if ((int)resp.StatusCode == 200) break;
                if (sw.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException("the sample did not finish within 2 minutes");
                await Task.Delay(100);
            }
            await stdout.WriteLineAsync($"finished in {sw.Elapsed.TotalSeconds:F2} s with status {status["runtimeStatus"]}:");
            await stdout.WriteLineAsync(status["output"]?.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            if (status["runtimeStatus"]?.GetValue<string>() != "Completed") return 1;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        // Then the sample pipeline (samples/penguins_full.yaml, copied beside the binary: the whole TFX pipeline from
        // ExampleGen to Pusher): cold, then fully cached.
        var pipeline = Path.Combine(AppContext.BaseDirectory, "samples", "penguins_full.yaml");
        if (!File.Exists(pipeline)) throw new IOException($"the sample pipeline {pipeline} is missing from the build output");
        foreach (var label in new[] { "cold", "cached" })
        {
            var runId = Serverless.Pipelines.Orchestration.PipelineRunStarter.NewRunId("penguins_full", DateTimeOffset.UtcNow) + "-" + label;
            await stdout.WriteLineAsync($"sample pipeline ({label} run):");
            var o2 = new Dictionary<string, string>(o) { ["run-id"] = runId };
            var code = await PipelineCommands.RunAsync(pipeline, new Dictionary<string, string>(), o2, stdout, stdout);
            if (code != 0) return code;
        }
        var repository = Path.Combine(options.HomeDirectory, "serving_models");
        await stdout.WriteLineAsync($"the blessed model was pushed to {repository}/penguins; serve it with:");
        await stdout.WriteLineAsync($"  dotnet run --project functions/Serverless.ModelServer -- --repository {repository}");
        return 0;
    }
}

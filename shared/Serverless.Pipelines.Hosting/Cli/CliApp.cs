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
/// <c>serve</c> starts the function app and runs until stopped.
/// </summary>
public static class CliApp
{
    private const string Usage = """
        usage: pipelines <command> [options]
          run PIPELINE_FILE [--param K=V]... [--from NODE] [--run-id ID]
                                                run a pipeline; progress per node, artifacts table at the end
          runs                                  list pipeline runs
          status RUN                            a run's state, nodes, durations and artifacts
          lineage ARTIFACT_OR_MODEL             upstream lineage of an artifact: its id, its URI, RUN/NODE[.OUTPUT],
                                                or an artifact type (e.g. Model: the newest of that type)
          sample [--cities A,B,C]               run the sample durable workflow and the sample pipeline end to end
          serve  [--urls URL] [--host-json FILE] [--access-key KEY]
                                                start the function app (HTTP API, blob and timer triggers)
        Every command takes --home DIR (default $SERVERLESS_HOME or ~/.serverless-ml: SQLite files, blobs, pipelines/).
        The HTTP API needs a key: $SERVERLESS_ACCESS_KEY, else {home}/access-key (generated on first start, mode 0600);
        --access-key KEY also works but shows the key in the process list.
        --param: node.param=value, or param=value for every node that has it.
        """;

    /// <summary>Runs a command; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            await stdout.WriteLineAsync(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        Dictionary<string, string> options;
        var positional = new List<string>();
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            options = ParseOptions(args.Skip(1).ToArray(), positional, parameters);
        }
        catch (ArgumentException ex)
        {
            await stderr.WriteLineAsync($"error: {ex.Message}\n{Usage}");
            return 2;
        }
        try
        {
            return args[0] switch
            {
                "sample" => await SampleAsync(options, stdout),
                "serve" => await ServeAsync(options),
                "run" => await PipelineCommands.RunAsync(Positional(positional, "PIPELINE_FILE"), parameters, options, stdout, stderr),
                "runs" => await PipelineCommands.RunsAsync(options, stdout),
                "status" => await PipelineCommands.StatusAsync(Positional(positional, "RUN"), options, stdout),
                "lineage" => await PipelineCommands.LineageAsync(Positional(positional, "ARTIFACT_OR_MODEL"), options, stdout, stderr),
                _ => await UnknownAsync(args[0], stderr),
            };
        }
        catch (ArgumentException ex) when (ex.ParamName == "positional")
        {
            await stderr.WriteLineAsync($"error: {ex.Message}\n{Usage}");
            return 2;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException or Serverless.Hosting.Configuration.HostJsonException)
        {
            await stderr.WriteLineAsync($"error: {ex.Message}");
            return 1;
        }
    }

    private static async Task<int> UnknownAsync(string command, TextWriter stderr)
    {
        await stderr.WriteLineAsync($"error: unknown command '{command}'\n{Usage}");
        return 2;
    }

    private static string Positional(List<string> positional, string name) => positional.Count switch
    {
        1 => positional[0],
        0 => throw new ArgumentException($"missing {name}", nameof(positional)),
        _ => throw new ArgumentException($"unexpected argument '{positional[1]}'", nameof(positional)),
    };

    private static Dictionary<string, string> ParseOptions(string[] args, List<string> positional, Dictionary<string, string> parameters)
    {
        var known = new HashSet<string> { "home", "urls", "host-json", "access-key", "cities", "from", "run-id", "param" };
        var result = new Dictionary<string, string>();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                positional.Add(a);
                continue;
            }
            if (!known.Contains(a[2..]))
                throw new ArgumentException($"unknown option '{a}'");
            if (i + 1 >= args.Length) throw new ArgumentException($"option '{a}' needs a value");
            var value = args[++i];
            if (a == "--param")
            {
                var eq = value.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0) throw new ArgumentException($"--param '{value}': expected KEY=VALUE");
                parameters[value[..eq]] = value[(eq + 1)..];
                continue;
            }
            result[a[2..]] = value;
        }
        return result;
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

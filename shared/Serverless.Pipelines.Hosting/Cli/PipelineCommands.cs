using System.Diagnostics;
using System.Globalization;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using DurableTask.Core.Exceptions;
using Serverless.Metadata;
using Serverless.Pipelines;
using Serverless.Pipelines.Hosting.Http;
using Serverless.Pipelines.Orchestration;

namespace Serverless.Pipelines.Hosting.Cli;

/// <summary>The pipeline commands: <c>run</c>, <c>runs</c>, <c>status</c>, <c>lineage</c>.</summary>
internal static class PipelineCommands
{
    public static async Task<int> RunAsync(string file, Dictionary<string, string> parameters, Dictionary<string, string> o, TextWriter stdout, TextWriter stderr)
    {
        var options = CliApp.AppOptions(o, "http://127.0.0.1:0");
        options.EnableTriggers = false;
        // The operator named this file on the command line: its folder (its data, modules, schemas) is an input root.
        options.Pipelines = PipelineHostOptions.Load(options.HostJsonPath, options.HomeDirectory);
        options.Pipelines.InputRoots.Add(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var loaded = PipelineLoader.LoadFile(Path.GetFullPath(file), options.Pipelines.Limits);
        if (!loaded.IsSuccess)
        {
            foreach (var e in loaded.Errors) await stderr.WriteLineAsync($"error: {e}");
            return 1;
        }

        var pipeline = loaded.Definition!;
        var app = PipelineAppHost.Build(options);
        await app.StartAsync();
        try
        {
            var runtime = app.Services.GetRequiredService<PipelineRuntime>();
            PipelineRunInput input;
            try
            {
                // A run id whose run is still marked running (its process was killed): attach and let this worker finish it.
                if (o.GetValueOrDefault("run-id") is { } existingId && await runtime.Client.GetInstanceAsync(existingId, true) is { IsCompleted: false } existing
                    && existing.ReadInputAs<PipelineRunInput>() is { } resumed)
                {
                    input = resumed;
                    await stdout.WriteLineAsync($"resuming run {existingId}: completed nodes are not run again");
                }
                else
                {
                    input = await runtime.StartAsync(pipeline, new RunRequest { RunId = o.GetValueOrDefault("run-id"), Parameters = parameters, From = o.GetValueOrDefault("from"), Trigger = "cli", Source = ParameterSource.Operator });
                }
            }
            catch (PipelineValidationException e)
            {
                foreach (var error in e.Errors) await stderr.WriteLineAsync($"error: {error}");
                await stderr.WriteLineAsync("the run was not started");
                return 1;
            }
            catch (OrchestrationAlreadyExistsException)
            {
                await stderr.WriteLineAsync($"error: run '{o["run-id"]}' is still running");
                return 1;
            }

            await stdout.WriteLineAsync($"run {input.RunId} of pipeline {pipeline.Name} (state in {options.HomeDirectory})");
            var sw = Stopwatch.StartNew();
            var seen = new Dictionary<string, NodeState>(StringComparer.Ordinal);
            OrchestrationMetadata? m;
            while (true)
            {
                m = await runtime.Client.GetInstanceAsync(input.RunId, true);
                var status = m?.ReadCustomStatusAs<PipelineRunStatus>();
                foreach (var node in status?.Nodes ?? [])
                {
                    if (seen.TryGetValue(node.Node, out var before) && before == node.State) continue;
                    seen[node.Node] = node.State;
                    if (node.State == NodeState.Pending) continue;
                    var extra = node.DurationSeconds is { } d ? $" {d:F2}s" : string.Empty;
                    var error = node.Error is null ? string.Empty : $"  {node.Error}";
                    await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  [{sw.Elapsed.TotalSeconds,6:F2}s] {node.Node,-20} {Upper(node.State),-20}{extra}{error}"));
                }

                if (m is { IsCompleted: true }) break;
                await Task.Delay(50);
            }

            // A failed instance's output is its failure, not a status: then the last published status tells the nodes.
            var final = (m.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? m.ReadOutputAs<PipelineRunStatus>() : null) ?? m.ReadCustomStatusAs<PipelineRunStatus>();
            await WriteNodesAsync(final, stdout);
            var message = m.FailureDetails?.ErrorMessage ?? final?.Message;
            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"run {input.RunId} {Upper(final?.State ?? PipelineRunState.Failed)} in {sw.Elapsed.TotalSeconds:F2}s: {message}"));
            return m.RuntimeStatus == OrchestrationRuntimeStatus.Completed && final?.State == PipelineRunState.Succeeded ? 0 : 1;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public static async Task<int> RunsAsync(Dictionary<string, string> o, TextWriter stdout)
    {
        await using var state = await State.OpenAsync(o);
        var runs = new List<PipelineHttpApi.RunSummary>();
        await foreach (var m in state.Client.GetAllInstancesAsync(new OrchestrationQuery { FetchInputsAndOutputs = true }))
        {
            if (m.Name == PipelineOrchestrator.Name) runs.Add(PipelineHttpApi.Summary(m));
        }

        await stdout.WriteLineAsync($"{"RUN",-40} {"PIPELINE",-16} {"STATE",-17} {"TRIGGER",-10} {"CREATED (UTC)",-20} MESSAGE");
        foreach (var r in runs.OrderBy(r => r.CreatedAt))
        {
            var trigger = r.Trigger.Split(':')[0];
            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{r.Id,-40} {r.Pipeline,-16} {r.State,-17} {trigger,-10} {r.CreatedAt.UtcDateTime,-20:yyyy-MM-dd HH:mm:ss} {r.Message}"));
        }

        return 0;
    }

    public static async Task<int> StatusAsync(string runId, Dictionary<string, string> o, TextWriter stdout)
    {
        await using var state = await State.OpenAsync(o);
        var m = await state.Client.GetInstanceAsync(runId, true);
        if (m is null || m.Name != PipelineOrchestrator.Name)
        {
            await stdout.WriteLineAsync($"no run '{runId}'");
            return 1;
        }

        var summary = PipelineHttpApi.Summary(m);
        await stdout.WriteLineAsync($"run {runId} of pipeline {summary.Pipeline}: {summary.State} (orchestration {summary.RuntimeStatus}, trigger {summary.Trigger})");
        if (summary.Message is { Length: > 0 }) await stdout.WriteLineAsync($"  {summary.Message}");
        await WriteNodesAsync(m.ReadCustomStatusAs<PipelineRunStatus>(), stdout);
        return 0;
    }

    public static async Task<int> LineageAsync(string what, Dictionary<string, string> o, TextWriter stdout, TextWriter stderr)
    {
        await using var state = await State.OpenAsync(o);
        var artifact = await FindArtifactAsync(state, what);
        if (artifact is null)
        {
            await stderr.WriteLineAsync($"error: no artifact '{what}' (give an artifact id, a URI, RUN/NODE[.OUTPUT], or an artifact type such as Model)");
            return 1;
        }

        var lineage = await state.Runtime.Metadata.GetUpstreamLineageAsync(artifact.Id);
        await stdout.WriteLineAsync($"lineage of artifact {artifact.Id} ({artifact.Type}) {artifact.Uri}");
        await stdout.WriteLineAsync("artifacts (nearest first):");
        foreach (var a in lineage.Artifacts)
        {
            var fp = a.CustomProperties.TryGetValue(ArtifactRecords.FingerprintProperty, out var f) ? f.StringValue : string.Empty;
            await stdout.WriteLineAsync($"  {a.Id,6}  {a.Type,-18} {a.Uri}  {fp}");
        }

        await stdout.WriteLineAsync("executions:");
        foreach (var e in lineage.Executions)
        {
            await stdout.WriteLineAsync($"  {e.Id,6}  {e.Type,-18} {e.Name}  {e.State}");
        }

        return 0;
    }

    private static async Task<Artifact?> FindArtifactAsync(State state, string what)
    {
        var metadata = state.Runtime.Metadata;
        if (long.TryParse(what, NumberStyles.None, CultureInfo.InvariantCulture, out var id)) return await metadata.GetArtifactAsync(id);
        if ((await metadata.GetArtifactsByUriAsync(what)).LastOrDefault() is { } byUri) return byUri;
        if ((await metadata.GetArtifactsByTypeAsync(what)).LastOrDefault() is { } byType) return byType;
        var slash = what.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0) return null;
        var m = await state.Client.GetInstanceAsync(what[..slash], true);
        var nodeSpec = what[(slash + 1)..];
        var node = m?.ReadCustomStatusAs<PipelineRunStatus>()?.Nodes.FirstOrDefault(n => n.Node == nodeSpec || nodeSpec.StartsWith(n.Node + ".", StringComparison.Ordinal));
        if (node is null || node.ArtifactIds.Count == 0) return null;
        var output = nodeSpec.Length > node.Node.Length ? nodeSpec[(node.Node.Length + 1)..] : node.ArtifactIds.Keys.Order(StringComparer.Ordinal).First();
        return node.ArtifactIds.TryGetValue(output, out var artifactId) ? await metadata.GetArtifactAsync(artifactId) : null;
    }

    private static async Task WriteNodesAsync(PipelineRunStatus? status, TextWriter stdout)
    {
        if (status is null) return;
        await stdout.WriteLineAsync($"  {"NODE",-20} {"STATE",-20} {"DURATION",9}  {"OUTPUT",-14} ARTIFACT");
        foreach (var n in status.Nodes)
        {
            var duration = n.DurationSeconds is { } d ? string.Create(CultureInfo.InvariantCulture, $"{d:F2}s") : "-";
            if (n.Artifacts.Count == 0)
            {
                await stdout.WriteLineAsync($"  {n.Node,-20} {Upper(n.State),-20} {duration,9}  {"-",-14} {n.Error}");
                continue;
            }

            foreach (var (channel, uri) in n.Artifacts)
            {
                await stdout.WriteLineAsync($"  {n.Node,-20} {Upper(n.State),-20} {duration,9}  {channel,-14} {uri} (id {n.ArtifactIds.GetValueOrDefault(channel)})");
            }
        }
    }

    private static string Upper<T>(T value) where T : struct, Enum => value.ToString().ToUpperInvariant();

    /// <summary>The durable client and pipeline stores of a home folder, without a worker (so listing never runs anything).</summary>
    private sealed class State : IAsyncDisposable
    {
        private readonly IHost host;

        private State(IHost host)
        {
            this.host = host;
            Client = host.Services.GetRequiredService<DurableTaskClient>();
            Runtime = host.Services.GetRequiredService<PipelineRuntime>();
        }

        public DurableTaskClient Client { get; }

        public PipelineRuntime Runtime { get; }

        public static async Task<State> OpenAsync(Dictionary<string, string> o)
        {
            var options = CliApp.AppOptions(o, "http://127.0.0.1:0");
            var host = PipelineAppHost.BuildClient(options);
            await host.StartAsync();
            return new State(host);
        }

        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            host.Dispose();
        }
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Pipelines.Hosting;
using Serverless.Pipelines;

namespace Serverless.FunctionApp.Tests;

/// <summary>
/// A slow component for crash tests, loaded by the CLI from this assembly (<c>SERVERLESS_COMPONENTS</c>): it appends
/// "start NODE" / "end NODE" lines to the file <c>log</c>, sleeping <c>seconds</c> in between, and passes examples on.
/// </summary>
public sealed class SleepComponent : Component
{
    /// <inheritdoc/>
    public override ComponentSpec Spec { get; } = new()
    {
        Type = "Sleep",
        Version = "1",
        Inputs = [new ChannelSpec("examples", ArtifactTypes.Examples)],
        Outputs = [new ChannelSpec("examples", ArtifactTypes.Examples)],
        Parameters = [new ParameterSpec("seconds", ParameterType.Double, Default: 0.0), new ParameterSpec("log", ParameterType.String)],
    };

    /// <inheritdoc/>
    public override IComponentExecutor CreateExecutor() => new Executor();

    private sealed class Executor : IComponentExecutor
    {
        public async Task ExecuteAsync(IReadOnlyDictionary<string, InputArtifact> inputs, IReadOnlyDictionary<string, OutputArtifact> outputs, ComponentParameters parameters, ExecutorContext context, CancellationToken cancellation = default)
        {
            var log = parameters.GetString("log");
            await File.AppendAllTextAsync(log, $"start {context.NodeId}\n", cancellation);
            await Task.Delay(TimeSpan.FromSeconds(parameters.GetDouble("seconds")), cancellation);
            foreach (var file in inputs["examples"].Files)
            {
                await using var stream = await inputs["examples"].OpenReadAsync(file.Path, cancellation);
                await outputs["examples"].WriteAsync(file.Path, stream, cancellation);
            }

            await File.AppendAllTextAsync(log, string.Create(CultureInfo.InvariantCulture, $"end {context.NodeId}\n"), cancellation);
        }
    }
}

/// <summary>A settable clock for the timer trigger.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref ticks), TimeSpan.Zero);

    public void Set(DateTimeOffset now) => Interlocked.Exchange(ref ticks, now.UtcTicks);
}

internal static class Repo
{
    /// <summary>The sample pipeline and data, copied beside the test binaries by the CLI project.</summary>
    public static string Samples => Path.Combine(AppContext.BaseDirectory, "samples");

    /// <summary>Writes <c>{name}.yaml</c> into <paramref name="folder"/> (which holds the sample data): FileCopy of the
    /// penguins, then a Sleep node <c>hog</c> of <paramref name="seconds"/> logging to <paramref name="log"/>; returns the file.</summary>
    public static string WriteSleepPipeline(string folder, string name, double seconds, string log)
    {
        var file = Path.Combine(folder, $"{name}.yaml");
        File.WriteAllText(file, string.Create(CultureInfo.InvariantCulture, $$"""
            name: {{name}}
            nodes:
              - id: import
                component: FileCopy
                parameters: { source: data/penguins.csv }
              - id: hog
                component: Sleep
                inputs: { examples: import.examples }
                parameters: { seconds: {{seconds}}, log: "{{log}}" }
            """));
        return file;
    }

    /// <summary>Copies the sample pipeline and its data into <paramref name="folder"/>; returns the pipeline file.</summary>
    public static string CopySample(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        File.Copy(Path.Combine(Samples, "data", "penguins.csv"), Path.Combine(folder, "data", "penguins.csv"), overwrite: true);
        var file = Path.Combine(folder, "penguins.yaml");
        File.Copy(Path.Combine(Samples, "penguins.yaml"), file, overwrite: true);
        return file;
    }
}

/// <summary>The function app running on a free loopback port with an access key, and its HTTP client (key sent).</summary>
internal sealed class TestApp : IAsyncDisposable
{
    /// <summary>The access key every test app is started with.</summary>
    public const string Key = "test-access-key-0123456789abcdef";

    private TestApp(WebApplication app, HttpClient http)
    {
        App = app;
        Http = http;
    }

    public WebApplication App { get; }

    /// <summary>A client that sends <see cref="Key"/> in <c>x-functions-key</c>.</summary>
    public HttpClient Http { get; }

    public Uri BaseAddress => Http.BaseAddress!;

    public static async Task<TestApp> StartAsync(string home, PipelineHostOptions options, TimeProvider? time = null, Action<PipelineAppOptions>? configure = null)
    {
        var appOptions = new PipelineAppOptions
        {
            HomeDirectory = home,
            Urls = "http://127.0.0.1:0",
            Pipelines = options,
            AccessKey = Key,
            Time = time ?? TimeProvider.System,
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        };
        configure?.Invoke(appOptions);
        var app = PipelineAppHost.Build(appOptions);
        await app.StartAsync();
        var uri = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var http = new HttpClient { BaseAddress = new Uri(uri) };
        if (appOptions.AccessKey is { Length: > 0 } key) http.DefaultRequestHeaders.Add("x-functions-key", key);
        return new TestApp(app, http);
    }

    public T Service<T>() where T : notnull =>
        App.Services.GetRequiredService<T>();

    /// <summary>Polls <c>GET /api/runs/{id}</c> until <paramref name="until"/> holds (default: the run ended, 200).</summary>
    public async Task<JsonObject> WaitForRunAsync(string id, Func<JsonObject, bool>? until = null, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            using var response = await Http.GetAsync($"/api/runs/{id}");
            if (response.StatusCode != HttpStatusCode.NotFound)
            {
                var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
                if (until?.Invoke(body) ?? response.StatusCode == HttpStatusCode.OK) return body;
            }

            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {id} did not get there");
            await Task.Delay(50);
        }
    }

    public async Task<List<JsonObject>> RunsAsync() =>
        (await Http.GetFromJsonAsync<JsonArray>("/api/runs"))!.Select(n => n!.AsObject()).ToList();

    /// <summary>A node's state in a run body; "" before the orchestrator's first turn published any.</summary>
    public static string NodeState(JsonObject run, string node) =>
        run["run"]?["Nodes"]?.AsArray().SingleOrDefault(n => n!["Node"]!.GetValue<string>() == node)?["State"]?.GetValue<string>() ?? "";

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

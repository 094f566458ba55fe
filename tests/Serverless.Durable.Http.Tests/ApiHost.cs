using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Durable.Sqlite;

namespace Serverless.Durable.Http.Tests;

public sealed record Greeting(string Name);

/// <summary>A real SQLite backend in a temp folder, a real worker, and the management API on Kestrel (127.0.0.1, port 0).</summary>
public sealed class ApiHost : IAsyncDisposable
{
    public const string Hub = "TestHub";
    private readonly WebApplication _app;
    private readonly DurableTaskWorker _worker;
    private readonly SqliteOrchestrationBackend _backend;
    private readonly string _folder;

    private ApiHost(WebApplication app, DurableTaskWorker worker, SqliteOrchestrationBackend backend, DurableTaskClient client, string folder, Uri baseAddress)
    {
        _app = app;
        _worker = worker;
        _backend = backend;
        _folder = folder;
        Client = client;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public DurableTaskClient Client { get; }
    public HttpClient Http { get; }
    public Uri BaseAddress { get; }

    public static async Task<ApiHost> StartAsync(DurableHttpOptions? options = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), "durable-http-tests", Guid.NewGuid().ToString("N"));
        var backend = new SqliteOrchestrationBackend(Path.Combine(folder, "hub.db"));
        await backend.InitializeAsync();
        var registry = new DurableTaskRegistry();
        registry.AddActivityFunc<string, string>("Say", (_, name) => $"Hello {name}!");
        registry.AddOrchestratorFunc<Greeting, string>("Hello", (ctx, input) => ctx.CallActivityAsync<string>("Say", input.Name));
        registry.AddOrchestratorFunc<object?, object>("Approval", async (ctx, _) =>
        {
            ctx.SetCustomStatus(new { stage = "waiting" });
            var decision = await ctx.WaitForExternalEvent<JsonElement>("Approve");
            return new { approved = decision };
        });
        registry.AddOrchestratorFunc<object?, string>("Fail", (_, _) => throw new InvalidOperationException("boom"));
        var worker = new DurableTaskWorker(backend, registry, new DurableTaskWorkerOptions { MaxPollingInterval = TimeSpan.FromMilliseconds(50) });
        await worker.StartAsync();
        var client = new DurableTaskClient(backend, name: Hub);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapDurableTaskManagementApi(client, options);
        await app.StartAsync();
        return new ApiHost(app, worker, backend, client, folder, new Uri(app.Urls.First()));
    }

    public const string Prefix = "/runtime/webhooks/durabletask";

    public Task<HttpResponseMessage> PostJsonAsync(string path, string? json)
    {
        var content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json");
        return Http.PostAsync(path, content);
    }

    /// <summary>Starts an orchestration through the API and returns its id.</summary>
    public async Task<string> StartAsync(string orchestrator, string? json = null, string? instanceId = null)
    {
        using var response = await PostJsonAsync($"{Prefix}/orchestrators/{orchestrator}{(instanceId is null ? "" : "/" + instanceId)}", json);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("id").GetString()!;
    }

    public async Task<OrchestrationMetadata> WaitAsync(string id, Func<OrchestrationMetadata, bool> condition, int timeoutSeconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            var m = await Client.GetInstanceAsync(id, true);
            if (m != null && condition(m)) return m;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Instance {id} did not reach the expected state; last: {m?.RuntimeStatus}");
            await Task.Delay(20);
        }
    }

    public Task<OrchestrationMetadata> WaitDoneAsync(string id) => WaitAsync(id, m => m.IsCompleted);

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.MediaType ?? "", StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    public static int? RetryAfterSeconds(HttpResponseMessage r) => r.Headers.RetryAfter?.Delta is { } d ? (int)d.TotalSeconds : null;

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _worker.DisposeAsync();
        await _backend.DisposeAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}

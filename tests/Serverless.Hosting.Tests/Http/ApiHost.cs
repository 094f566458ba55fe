using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Hosting.Configuration;
using Serverless.Hosting.Http;

namespace Serverless.Hosting.Tests.Http;

public sealed record Greeting(string Name);

/// <summary>
/// The management API as an app serves it: AddDurableTaskHosting (a fresh task hub on the shared Azurite), the SDK
/// worker on DTFx, and the API mapped from DI on Kestrel (127.0.0.1, port 0).
/// </summary>
public sealed class ApiHost : IAsyncDisposable
{
    public const string Prefix = "/runtime/webhooks/durabletask";
    public const string Connection = "HubStorage";
    private readonly WebApplication _app;

    private ApiHost(WebApplication app, string hub, Uri baseAddress)
    {
        _app = app;
        Hub = hub;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public string Hub { get; }
    public DurableTaskClient Client => _app.Services.GetRequiredService<DurableTaskClient>();
    public HttpClient Http { get; }
    public Uri BaseAddress { get; }

    public static void Register(DurableTaskRegistry registry)
    {
        registry.AddActivityFunc<string, string>("Say", (_, name) => $"Hello {name}!");
        registry.AddOrchestratorFunc<Greeting, string>("Hello", (ctx, input) => ctx.CallActivityAsync<string>("Say", input.Name));
        registry.AddOrchestratorFunc<object?, object>("Approval", async (ctx, _) =>
        {
            ctx.SetCustomStatus(new { stage = "waiting" });
            var decision = await ctx.WaitForExternalEvent<JsonElement>("Approve");
            return new { approved = decision };
        });
        registry.AddOrchestratorFunc<object?, string>("Fail", (_, _) => Task.FromException<string>(new InvalidOperationException("boom")));
    }

    /// <summary>Starts a host; <paramref name="options"/> null maps the API from DI with every default.</summary>
    public static async Task<ApiHost> StartAsync(SharedAzurite azurite, DurableHttpOptions? options = null)
    {
        var hub = "http" + Guid.NewGuid().ToString("N")[..12];
        var json = "{\"extensions\":{\"durableTask\":{\"hubName\":\"" + hub + "\",\"storageProvider\":{\"connectionStringName\":\"" + Connection
            + "\",\"partitionCount\":1,\"maxQueuePollingInterval\":\"00:00:00.100\"}}}}";
        var settings = HostJsonReader.Parse(json, "api-host.json");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddDurableTaskHosting(o =>
        {
            o.Settings = settings;
            o.ReadAppSetting = name => name == Connection ? azurite.ConnectionString : null;
            o.HomeDirectory = Path.GetTempPath();
        }).AddTasks(Register);
        var app = builder.Build();
        app.MapDurableTaskManagementApi(options);
        await app.StartAsync();
        return new ApiHost(app, hub, new Uri(app.Urls.First()));
    }

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

    public async Task<OrchestrationMetadata> WaitAsync(string id, Func<OrchestrationMetadata, bool> condition, int timeoutSeconds = 30)
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
    }
}

using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serverless.ModelServer;
using Serverless.Storage;

namespace Serverless.Serving.Tests;

/// <summary>A real model server on 127.0.0.1 (port 0) over a temp local-directory repository.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "serving-tests-" + Guid.NewGuid().ToString("N"));

    public ModelRepository Repository { get; private set; } = null!;

    public ModelVersionManager Manager { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public WebApplication App { get; private set; } = null!;

    public const long BodyLimit = 64 * 1024;

    public const int RowLimit = 100;

    public const int ResponseLimit = 16 * 1024;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        var store = new LocalDirectoryBlobStore(Root);
        Repository = new ModelRepository(store);
        await Repository.PublishVersionAsync("penguins", 1, TestModels.Penguins(1));
        await Repository.PublishVersionAsync("penguins", 2, TestModels.Penguins(2));
        await Repository.PublishVersionAsync("echo", 1, TestModels.Echo());
        await Repository.PublishVersionAsync("reg", 1, TestModels.Regressor());
        var options = new ModelServerOptions
        {
            Urls = "http://127.0.0.1:0",
            Quiet = true,
            MaxRequestBodyBytes = BodyLimit,
            MaxRequestRows = RowLimit,
            MaxResponseBytes = ResponseLimit,
            Serving = new ServingOptions
            {
                PollInterval = TimeSpan.FromMinutes(10), // tests poll explicitly
                Models =
                [
                    new ModelConfig { Name = "penguins", VersionLabels = new Dictionary<string, long> { ["stable"] = 1, ["canary"] = 2 } },
                    new ModelConfig { Name = "echo" },
                    new ModelConfig { Name = "reg" },
                    new ModelConfig { Name = "hot" },
                    new ModelConfig { Name = "kept" },
                ],
                Batching = new BatchingOptions { MaxBatchSize = 32, MaxWait = TimeSpan.FromMilliseconds(2) },
            },
        };
        App = ModelServerHost.Build(options, store);
        await App.StartAsync();
        Manager = App.Services.GetRequiredService<ModelVersionManager>();
        Client = new HttpClient { BaseAddress = ModelServerHost.GetBaseAddress(App), Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public async Task<(int Status, JsonElement Body)> GetAsync(string path)
    {
        using var response = await Client.GetAsync(path);
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    public async Task<(int Status, JsonElement Body)> PostAsync(string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await Client.PostAsync(path, content);
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.Clone();
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}

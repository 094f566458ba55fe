using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.ModelServer;
using Serverless.Storage;

namespace Serverless.Serving.Tests;

/// <summary>A model server started with an access key: every route needs it, in either header.</summary>
public sealed class AccessKeyTests : IAsyncLifetime
{
    private const string Key = "k3y-0f-the-model-server";
    private const string Row = """{"instances":[{"island":"Biscoe","sex":"male","bill_length_mm":39.1,"bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":3750}]}""";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "serving-key-" + Guid.NewGuid().ToString("N"));
    private Microsoft.AspNetCore.Builder.WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        var store = new LocalDirectoryBlobStore(_root);
        await new ModelRepository(store).PublishVersionAsync("penguins", 1, TestModels.Penguins(1));
        _app = ModelServerHost.Build(new ModelServerOptions { Urls = "http://127.0.0.1:0", Quiet = true, AccessKey = Key }, store);
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = ModelServerHost.GetBaseAddress(_app) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("Authorization", "Bearer wrong")]
    [InlineData("Authorization", "Bearer k3y-0f-the-model-server-and-more")]
    [InlineData("Authorization", "Basic k3y-0f-the-model-server")]
    [InlineData("x-functions-key", "k3y-0f-the-model-serveR")]
    public async Task Predict_WithoutTheKey_401(string? header, string? value)
    {
        using var response = await SendAsync(HttpMethod.Post, "/v1/models/penguins:predict", header, value);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        Assert.Contains("access key", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusAndMetadata_WithoutTheKey_401()
    {
        using var status = await SendAsync(HttpMethod.Get, "/v1/models/penguins", null, null);
        Assert.Equal(HttpStatusCode.Unauthorized, status.StatusCode);
        using var metadata = await SendAsync(HttpMethod.Get, "/v1/models/penguins/metadata", null, null);
        Assert.Equal(HttpStatusCode.Unauthorized, metadata.StatusCode);
    }

    [Theory]
    [InlineData("Authorization", "Bearer " + Key)]
    [InlineData("Authorization", "bearer " + Key)]
    [InlineData("x-functions-key", Key)]
    public async Task Predict_WithTheKey_200(string header, string value)
    {
        using var response = await SendAsync(HttpMethod.Post, "/v1/models/penguins:predict", header, value);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var predictions = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("predictions");
        Assert.Equal(3, predictions[0].GetArrayLength());
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? header, string? value)
    {
        using var request = new HttpRequestMessage(method, path);
        if (method == HttpMethod.Post) request.Content = new StringContent(Row, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        if (header is not null) request.Headers.TryAddWithoutValidation(header, value);
        return await _http.SendAsync(request);
    }
}

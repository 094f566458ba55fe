using System.Net;
using Serverless.Hosting.Http;
using static Serverless.Hosting.Tests.Http.ApiHost;

namespace Serverless.Hosting.Tests.Http;

/// <summary>The access key option: every route needs it (compared in constant time), generated links carry it.</summary>
[Collection("http-azurite")]
public sealed class AccessKeyTests(SharedAzurite azurite) : IAsyncLifetime
{
    private const string Key = "s3cret-key";
    private ApiHost _host = null!;

    private string Hub => _host.Hub;

    public async Task InitializeAsync() => _host = await ApiHost.StartAsync(azurite, new DurableHttpOptions { AccessKey = Key, ConnectionName = "DurableStorage" });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("GET", "/instances")]
    [InlineData("GET", "/instances/any")]
    [InlineData("DELETE", "/instances/any")]
    [InlineData("DELETE", "/instances?createdTimeFrom=2020-01-01T00:00:00Z")]
    [InlineData("POST", "/orchestrators/Hello")]
    [InlineData("POST", "/instances/any/raiseEvent/Approve")]
    [InlineData("POST", "/instances/any/terminate")]
    [InlineData("POST", "/instances/any/suspend")]
    [InlineData("POST", "/instances/any/resume")]
    [InlineData("POST", "/instances/any/restart")]
    [InlineData("GET", "/no-such-route")]
    public async Task AnyRoute_WithoutKey_Returns401(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), Prefix + path);

        using var response = await _host.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("x-functions-key", (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_WrongKey_Returns401()
    {
        using var header = new HttpRequestMessage(HttpMethod.Get, $"{Prefix}/instances");
        header.Headers.Add("x-functions-key", "wrong");

        using var byHeader = await _host.Http.SendAsync(header);
        using var byQuery = await _host.Http.GetAsync($"{Prefix}/instances?code=wrong");

        Assert.Equal(HttpStatusCode.Unauthorized, byHeader.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, byQuery.StatusCode);
        // A key that only shares a prefix with the real one (what a non-constant-time compare might leak) is refused too.
        using var prefix = await _host.Http.GetAsync($"{Prefix}/instances?code={Key[..^1]}");
        Assert.Equal(HttpStatusCode.Unauthorized, prefix.StatusCode);
    }

    [Fact]
    public async Task Request_KeyInHeader_IsServed()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{Prefix}/instances");
        request.Headers.Add("x-functions-key", Key);

        using var response = await _host.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Start_KeyInQuery_LinksCarryCodeAndWorkWithoutHeader()
    {
        using var start = await _host.PostJsonAsync($"{Prefix}/orchestrators/Hello?code={Key}", """{"name":"Key"}""");

        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var body = await JsonAsync(start);
        var status = body.GetProperty("statusQueryGetUri").GetString()!;
        Assert.EndsWith($"?taskHub={Hub}&connection=DurableStorage&code={Key}", status, StringComparison.Ordinal);
        Assert.EndsWith($"/terminate?reason={{text}}&taskHub={Hub}&connection=DurableStorage&code={Key}", body.GetProperty("terminatePostUri").GetString(), StringComparison.Ordinal);
        await _host.WaitDoneAsync(body.GetProperty("id").GetString()!);
        using var done = await _host.Http.GetAsync(status);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Equal("Hello Key!", (await JsonAsync(done)).GetProperty("output").GetString());
    }
}

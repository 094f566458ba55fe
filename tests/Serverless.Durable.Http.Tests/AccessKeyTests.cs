using System.Net;
using static Serverless.Durable.Http.Tests.ApiHost;

namespace Serverless.Durable.Http.Tests;

public sealed class AccessKeyTests : IAsyncLifetime
{
    private const string Key = "s3cret-key";
    private ApiHost _host = null!;

    public async Task InitializeAsync() => _host = await ApiHost.StartAsync(new DurableHttpOptions { AccessKey = Key, ConnectionName = "DurableStorage" });

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

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AccessKeysTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("keys-").FullName;

    public void Dispose() => Directory.Delete(_folder, true);

    [Fact]
    public void Matches_EqualDifferentOrEmpty_OnlyEqualMatches()
    {
        Assert.True(AccessKeys.Matches("s3cret", "s3cret"));
        Assert.False(AccessKeys.Matches("s3creT", "s3cret"));
        Assert.False(AccessKeys.Matches("s3cret-longer", "s3cret"));
        Assert.False(AccessKeys.Matches("", "s3cret"));
        Assert.False(AccessKeys.Matches(null, "s3cret"));
    }

    [Fact]
    public void LoadOrCreate_FreshFolder_CreatesPrivateFolderAndFileThenReadsTheSameKey()
    {
        var path = Path.Combine(_folder, "home", "access-key");

        var first = AccessKeys.LoadOrCreate(path, out var created);
        var second = AccessKeys.LoadOrCreate(path, out var createdAgain);

        Assert.True(created);
        Assert.False(createdAgain);
        Assert.Equal(first, second);
        Assert.Equal(43, first.Length);
        Assert.NotEqual(first, AccessKeys.Generate());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void LoadOrCreate_FileReadableByOthers_RefusedNamingTheFile()
    {
        var path = Path.Combine(_folder, "access-key");
        File.WriteAllText(path, "k");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var error = Assert.Throws<InvalidDataException>(() => AccessKeys.LoadOrCreate(path, out _));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }
}

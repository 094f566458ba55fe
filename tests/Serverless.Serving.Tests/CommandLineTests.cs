using System.Diagnostics;
using Serverless.ModelServer;

namespace Serverless.Serving.Tests;

/// <summary>The model server's command line: parsed into options, and the built executable's --help and errors.</summary>
public sealed class CommandLineTests
{
    private static readonly string[] AllOptions =
    [
        "--urls", "--repository", "--prefix", "--azure-connection-string", "--azure-container", "--model", "--label",
        "--keep-versions", "--poll-seconds", "--max-batch-size", "--batch-timeout-us", "--no-batching", "--max-body-bytes",
        "--max-request-rows", "--max-response-bytes", "--access-key-file", "--quiet", "--help",
    ];

    [Fact]
    public async Task Help_BuiltExecutable_ExitsZeroAndDescribesEveryOption()
    {
        var (code, output, error) = await RunServerAsync("--help");
        Assert.True(code == 0, $"exit {code}: {error}");
        Assert.Contains("TensorFlow Serving's REST API", output, StringComparison.Ordinal);
        var lines = output.Split('\n');
        foreach (var option in AllOptions)
        {
            // "  --keep-versions <N>   How many of ... [default: 1]": the option, then words describing it.
            var line = lines.FirstOrDefault(l => l.TrimStart().StartsWith(option + " ", StringComparison.Ordinal) || l.Contains(", " + option + " ", StringComparison.Ordinal));
            Assert.True(line is not null, $"--help does not list {option}:\n{output}");
            var description = line[(line.IndexOf(option, StringComparison.Ordinal) + option.Length)..].Trim();
            Assert.True(description.Count(char.IsLetter) > 10, $"{option} has no description: '{line}'");
        }
        Assert.Contains("[default: 10000]", output, StringComparison.Ordinal);
        Assert.DoesNotContain("README", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--bogus", "--bogus")]
    [InlineData("--keep-versions 0", "--keep-versions must be at least 1")]
    [InlineData("--label penguins=1", "MODEL:LABEL=VERSION")]
    [InlineData("--max-request-rows lots", "lots")]
    [InlineData("--access-key-file /nonexistent/key", "/nonexistent/key")]
    public async Task BadArguments_BuiltExecutable_ExitsOneNamingTheProblem(string arguments, string named)
    {
        var (code, _, error) = await RunServerAsync(arguments.Split(' '));
        Assert.Equal(1, code);
        Assert.Contains(named, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EveryOption_FillsOptions()
    {
        var options = ModelServerCommandLine.Parse([
            "--urls", "http://127.0.0.1:9000", "--repository", "/srv/models", "--prefix", "serving/", "--model", "penguins",
            "--model", "taxi", "--label", "penguins:stable=3", "--label", "penguins:canary=4", "--keep-versions", "2",
            "--poll-seconds", "0.25", "--max-batch-size", "16", "--batch-timeout-us", "500", "--no-batching",
            "--max-body-bytes", "1000", "--max-request-rows", "50", "--max-response-bytes", "4096", "--quiet",
        ]);
        Assert.Equal("http://127.0.0.1:9000", options.Urls);
        Assert.Equal("/srv/models", options.RepositoryDirectory);
        Assert.Equal("serving/", options.RepositoryPrefix);
        Assert.Equal(["penguins", "taxi"], options.Serving.Models.Select(m => m.Name));
        Assert.Equal(new Dictionary<string, long> { ["stable"] = 3, ["canary"] = 4 }, options.Serving.Models[0].VersionLabels);
        Assert.Equal(2, options.Serving.KeepVersions);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.Serving.PollInterval);
        Assert.Equal(16, options.Serving.Batching.MaxBatchSize);
        Assert.Equal(TimeSpan.FromMicroseconds(500), options.Serving.Batching.MaxWait);
        Assert.False(options.Serving.Batching.Enabled);
        Assert.Equal(1000, options.MaxRequestBodyBytes);
        Assert.Equal(50, options.MaxRequestRows);
        Assert.Equal(4096, options.MaxResponseBytes);
        Assert.True(options.Quiet);
        Assert.Null(options.AccessKey);
    }

    [Fact]
    public void Parse_NoArguments_TheDocumentedDefaults()
    {
        var options = ModelServerCommandLine.Parse([]);
        var defaults = new ModelServerOptions();
        Assert.Equal(defaults.Urls, options.Urls);
        Assert.Equal(defaults.MaxRequestBodyBytes, options.MaxRequestBodyBytes);
        Assert.Equal(defaults.MaxRequestRows, options.MaxRequestRows);
        Assert.Equal(defaults.MaxResponseBytes, options.MaxResponseBytes);
        Assert.Equal(new ServingOptions().PollInterval, options.Serving.PollInterval);
        Assert.Equal(new BatchingOptions().MaxWait, options.Serving.Batching.MaxWait);
        Assert.Empty(options.Serving.Models);
    }

    [Fact]
    public void Parse_AccessKeyFile_FirstLineIsTheKey()
    {
        var file = Path.Combine(Path.GetTempPath(), $"model-server-key-{Guid.NewGuid():N}");
        File.WriteAllText(file, "  s3cret-key \nignored\n");
        try
        {
            Assert.Equal("s3cret-key", ModelServerCommandLine.Parse(["--access-key-file", file]).AccessKey);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<(int Code, string Output, string Error)> RunServerAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Serverless.ModelServer.dll"));
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}

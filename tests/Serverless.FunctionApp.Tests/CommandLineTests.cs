using Serverless.Pipelines.Hosting;
using Serverless.Pipelines.Hosting.Cli;

namespace Serverless.FunctionApp.Tests;

/// <summary>The command lines of the <c>pipelines</c> CLI, the function app and the trainer app, parsed in-process.</summary>
public sealed class CommandLineTests
{
    private static async Task<(int Code, string Out, string Err)> CliAsync(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var code = await CliApp.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task CliHelp_Root_Exit0ListsEveryCommand()
    {
        var (code, output, _) = await CliAsync("--help");
        Assert.Equal(0, code);
        foreach (var command in new[] { "run", "runs", "status", "lineage", "sample", "serve" })
        {
            Assert.Matches($@"(?m)^\s+{command}\s+\S", output);
        }
    }

    [Theory]
    [InlineData("run", new[] { "PIPELINE_FILE", "--param", "--from", "--run-id", "--home", "--host-json" })]
    [InlineData("runs", new[] { "--home", "--host-json" })]
    [InlineData("status", new[] { "RUN", "--home", "--host-json" })]
    [InlineData("lineage", new[] { "ARTIFACT_OR_MODEL", "--home", "--host-json" })]
    [InlineData("sample", new[] { "--cities", "--urls", "--access-key", "--home", "--host-json" })]
    [InlineData("serve", new[] { "--urls", "--host-json", "--access-key", "--home" })]
    public async Task CliHelp_Command_Exit0NamesOptionsWithDescriptions(string command, string[] names)
    {
        var (code, output, _) = await CliAsync(command, "--help");
        Assert.Equal(0, code);
        foreach (var name in names)
        {
            // The name, its value placeholder, then a description on the same line.
            Assert.Matches($@"(?m)^\s+<?{name}\b.*\s{{2,}}\w", output);
        }
    }

    [Fact]
    public async Task Cli_NoArguments_OverviewAndExit2()
    {
        var (code, output, _) = await CliAsync();
        Assert.Equal(2, code);
        Assert.Contains("lineage", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "runs", "--verbose" }, "unknown option '--verbose'")]
    [InlineData(new[] { "status" }, "missing RUN")]
    [InlineData(new[] { "status", "a", "b" }, "unexpected argument 'b'")]
    [InlineData(new[] { "run", "p.yaml", "--param", "novalue" }, "--param 'novalue': expected KEY=VALUE")]
    [InlineData(new[] { "serve", "--urls" }, "--urls")]
    public async Task Cli_UsageMistake_Exit2NamesIt(string[] args, string expected)
    {
        var (code, _, err) = await CliAsync(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FunctionApp_Help_Exit0NamesOptionsAndDoesNotStart()
    {
        var stdout = new StringWriter();
        var started = false;
        var code = await PipelineAppCommandLine.RunFunctionAppAsync(["--help"], stdout, TextWriter.Null, (_, _) => { started = true; return Task.FromResult(0); });
        Assert.Equal(0, code);
        Assert.False(started);
        foreach (var name in new[] { "--urls", "--host-json", "--access-key", "--home" })
        {
            Assert.Matches($@"(?m)^\s+{name}\b.*\s{{2,}}\w", stdout.ToString());
        }
    }

    [Fact]
    public async Task FunctionApp_Options_ReachTheHostOptions()
    {
        var home = Path.Combine(Path.GetTempPath(), "fa-home");
        PipelineAppOptions? seen = null;
        var code = await PipelineAppCommandLine.RunFunctionAppAsync(
            ["--urls", "http://127.0.0.1:0", "--host-json", "h.json", "--access-key", "k1", "--home", home],
            TextWriter.Null, TextWriter.Null, (o, _) => { seen = o; return Task.FromResult(7); });
        Assert.Equal(7, code);
        Assert.NotNull(seen);
        Assert.Equal("http://127.0.0.1:0", seen.Urls);
        Assert.Equal(Path.GetFullPath("h.json"), seen.HostJsonPath);
        Assert.Equal("k1", seen.AccessKey);
        Assert.Equal(home, seen.HomeDirectory);
    }

    [Fact]
    public async Task FunctionApp_UnknownOption_Exit2NamesIt()
    {
        var err = new StringWriter();
        var code = await PipelineAppCommandLine.RunFunctionAppAsync(["--port", "80"], TextWriter.Null, err, (_, _) => Task.FromResult(0));
        Assert.Equal(2, code);
        Assert.Contains("unknown option '--port'", err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TrainerApp_Help_Exit0NamesOptions()
    {
        var stdout = new StringWriter();
        var code = await PipelineAppCommandLine.RunTrainerAppAsync(["--help"], stdout, TextWriter.Null, (_, _) => Task.FromResult(5));
        Assert.Equal(0, code);
        foreach (var name in new[] { "--host-json", "--home" })
        {
            Assert.Matches($@"(?m)^\s+{name}\b.*\s{{2,}}\w", stdout.ToString());
        }

        Assert.DoesNotContain("--urls", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TrainerApp_OptionsAndMistakes_TriggersOffAndUnknownNamed()
    {
        PipelineAppOptions? seen = null;
        var home = Path.Combine(Path.GetTempPath(), "trainer-home");
        Assert.Equal(0, await PipelineAppCommandLine.RunTrainerAppAsync(["--home", home], TextWriter.Null, TextWriter.Null, (o, _) => { seen = o; return Task.FromResult(0); }));
        Assert.NotNull(seen);
        Assert.Equal(home, seen.HomeDirectory);
        Assert.False(seen.EnableTriggers);

        var err = new StringWriter();
        Assert.Equal(2, await PipelineAppCommandLine.RunTrainerAppAsync(["--urls", "x"], TextWriter.Null, err, (_, _) => Task.FromResult(0)));
        Assert.Contains("unknown option '--urls'", err.ToString(), StringComparison.Ordinal);
    }
}

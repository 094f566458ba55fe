using System.Text.Json;
using System.Text.RegularExpressions;

namespace Serverless.Infra.Tests;

/// <summary>Every template and parameters file under infra/ lints with no diagnostic at all and is formatted as
/// <c>bicep format</c> writes it (compilation: <see cref="CompilationTests"/>).</summary>
public sealed partial class BicepCompilerTests
{
    public static TheoryData<string> BicepFiles() => new(InfraFiles.Templates.Concat(InfraFiles.ParameterFiles).Select(InfraFiles.RelativeToInfra));

    [Theory]
    [MemberData(nameof(BicepFiles))]
    public async Task Lint_File_ReportsNothing(string file)
    {
        var result = await BicepCli.RunAsync(InfraFiles.InfraFolder, "lint", file);

        Assert.True(result.ExitCode == 0 && result.StandardOutput.Length == 0 && result.StandardError.Length == 0, result.Output);
    }

    [Theory]
    [MemberData(nameof(BicepFiles))]
    public async Task Format_File_IsAlreadyFormatted(string file)
    {
        var result = await BicepCli.RunAsync(InfraFiles.InfraFolder, "format", file, "--stdout");

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(InfraFiles.InfraFolder, file)), result.StandardOutput);
    }

    /// <summary>The control for the tests above: with the same configuration the linter does report a problem.</summary>
    [Fact]
    public async Task Lint_UnusedParameter_IsReportedAsError()
    {
        var folder = Directory.CreateTempSubdirectory("infra-lint-").FullName;
        try
        {
            File.Copy(Path.Combine(InfraFiles.InfraFolder, "bicepconfig.json"), Path.Combine(folder, "bicepconfig.json"));
            await File.WriteAllTextAsync(Path.Combine(folder, "bad.bicep"), "param unused string\n");

            var result = await BicepCli.RunAsync(folder, "lint", "bad.bicep");

            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains("no-unused-params", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Nothing may download when the tests run: no registry modules to restore, and the two linter rules
    /// that would ask a registry or depend on today's date are off.</summary>
    [Fact]
    public void BicepConfig_OnlineRules_AreOffAndNoRegistryModules()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(InfraFiles.InfraFolder, "bicepconfig.json")),
            new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var rules = config.RootElement.GetProperty("analyzers").GetProperty("core").GetProperty("rules");
        Assert.Equal("off", rules.GetProperty("use-recent-module-versions").GetProperty("level").GetString());
        Assert.Equal("off", rules.GetProperty("use-recent-api-versions").GetProperty("level").GetString());

        foreach (var template in InfraFiles.Templates.Concat(InfraFiles.ParameterFiles))
        {
            var registryModule = RegistryReference().Match(File.ReadAllText(template));
            Assert.False(registryModule.Success, $"{InfraFiles.RelativeToInfra(template)} uses a registry module ({registryModule.Value}): it would download at compile time");
        }
    }

    [GeneratedRegex(@"^\s*(module|using|extends|import)\b[^\n]*'(br|ts)[:/]", RegexOptions.Multiline)]
    private static partial Regex RegistryReference();
}

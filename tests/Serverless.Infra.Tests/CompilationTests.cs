namespace Serverless.Infra.Tests;

/// <summary><c>bicep build</c> and <c>bicep build-params</c> (run once by <see cref="CompiledInfra"/>) succeed
/// with no warning: the compiler runs the linter as it builds, so this also covers every linter rule.</summary>
[Collection(InfraCollection.Name)]
public sealed class CompilationTests(CompiledInfra infra)
{
    [Fact]
    public void Build_MainTemplate_CompilesWithoutWarnings()
    {
        Assert.True(infra.Build.ExitCode == 0 && infra.Build.StandardError.Length == 0, infra.Build.Output);
        Assert.Equal("2.0", (string?)infra.Template["languageVersion"]);
        Assert.NotEmpty(infra.Template["resources"]!.AsObject());
    }

    [Fact]
    public void BuildParams_MainParameters_CompileWithoutWarnings()
    {
        Assert.True(infra.BuildParams.ExitCode == 0 && infra.BuildParams.StandardError.Length == 0, infra.BuildParams.Output);
        Assert.NotEmpty(infra.ShippedParameters);
    }

    /// <summary>main.bicep is the only template: a module added later must be compiled by the fixture too.</summary>
    [Fact]
    public void InfraFolder_Templates_AreOnlyMainBicep()
    {
        Assert.Equal([InfraFiles.MainTemplate], InfraFiles.Templates);
        Assert.Equal([InfraFiles.MainParameters], InfraFiles.ParameterFiles);
    }
}

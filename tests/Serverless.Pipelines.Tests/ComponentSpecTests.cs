using Serverless.Metadata;
using Serverless.Pipelines;
using Serverless.Pipelines.Components.CsvRowCount;
using Serverless.Pipelines.Components.FileCopy;

namespace Serverless.Pipelines.Tests;

public sealed class ComponentSpecTests
{
    [Fact]
    public void EnsureValid_BuiltInSpecs_DoNotThrow()
    {
        FileCopyComponent.Declaration.EnsureValid();
        CsvRowCountComponent.Declaration.EnsureValid();
        Assert.Equal(["CsvRowCount", "FileCopy"], ComponentRegistry.CreateWithBuiltIns().Types);
    }

    [Fact]
    public void EnsureValid_DuplicateOutput_Throws()
    {
        var spec = new ComponentSpec
        {
            Type = "Bad",
            Version = "1",
            Outputs = [new ChannelSpec("model", ArtifactTypes.Model), new ChannelSpec("model", ArtifactTypes.ModelRun)],
        };

        var error = Assert.Throws<ArgumentException>(spec.EnsureValid);

        Assert.Contains("output 'model' is declared twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnsureValid_DefaultOfWrongType_Throws()
    {
        var spec = new ComponentSpec { Type = "Bad", Version = "1", Parameters = [new ParameterSpec("n", ParameterType.Int, Default: "ten")] };

        Assert.Throws<ArgumentException>(spec.EnsureValid);
    }

    [Fact]
    public void Register_SameTypeTwice_Throws()
    {
        var registry = ComponentRegistry.CreateWithBuiltIns();

        Assert.Throws<ArgumentException>(() => registry.Register(new FileCopyComponent()));
    }

    [Fact]
    public void Get_UnknownType_ThrowsListingRegistered()
    {
        var error = Assert.Throws<KeyNotFoundException>(() => ComponentRegistry.CreateWithBuiltIns().Get("Nope"));

        Assert.Contains("CsvRowCount, FileCopy", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ParameterType.Int, "3.0", "3")]
    [InlineData(ParameterType.Double, "3", "3.0")]
    [InlineData(ParameterType.String, "3", "3")]
    [InlineData(ParameterType.Bool, "true", "true")]
    public void Coerce_ConvertibleValue_ConvertsToDeclaredType(ParameterType type, string json, string expected)
    {
        var value = System.Text.Json.JsonSerializer.Deserialize<MetadataValue>(json)!;

        var (coerced, error) = new ParameterSpec("p", type).Coerce(value);

        Assert.Null(error);
        Assert.Equal(expected, coerced!.ToString());
    }

    [Theory]
    [InlineData(ParameterType.Int, "3.5")]
    [InlineData(ParameterType.Int, "\"3\"")]
    [InlineData(ParameterType.Bool, "1")]
    public void Coerce_IncompatibleValue_ReturnsError(ParameterType type, string json)
    {
        var value = System.Text.Json.JsonSerializer.Deserialize<MetadataValue>(json)!;

        var (coerced, error) = new ParameterSpec("p", type).Coerce(value);

        Assert.Null(coerced);
        Assert.StartsWith("expected", error, StringComparison.Ordinal);
    }
}

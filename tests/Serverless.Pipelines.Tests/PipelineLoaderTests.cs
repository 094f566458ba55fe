using System.Text.Json;
using Serverless.Metadata;
using Serverless.Pipelines;

namespace Serverless.Pipelines.Tests;

public sealed class PipelineLoaderTests : IDisposable
{
    private const string Yaml = """
        # Two nodes: import a CSV file, count its rows.
        name: taxi
        nodes:
          - id: import
            component: FileCopy
            parameters:
              source: data/taxi.csv
          - id: count
            component: CsvRowCount
            inputs:
              examples: import.examples
            parameters:
              has_header: true
            user_code: [module.py]
            retry:
              max_attempts: 3
              first_retry_interval: 5s
              backoff_coefficient: 2
              max_retry_interval: 1m
              retry_timeout: 10m
            approval:
              event: approve-push
              timeout: 24h
            pool: gpu
            cache: false
        """;

    private const string Json = """
        {
          "name": "taxi",
          "nodes": [
            { "id": "import", "component": "FileCopy", "parameters": { "source": "data/taxi.csv" } },
            { "id": "count", "component": "CsvRowCount", "inputs": { "examples": "import.examples" },
              "parameters": { "has_header": true }, "user_code": ["module.py"],
              "retry": { "max_attempts": 3, "first_retry_interval": "5s", "backoff_coefficient": 2, "max_retry_interval": "1m", "retry_timeout": "10m" },
              "approval": { "event": "approve-push", "timeout": "24h" }, "pool": "gpu", "cache": false }
          ]
        }
        """;

    private readonly TempFolder temp = new();

    public PipelineLoaderTests()
    {
        temp.Write("data/taxi.csv", "a,b\n1,2\n");
        temp.Write("module.py", "print('hi')\n");
    }

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData("pipeline.yaml", Yaml)]
    [InlineData("pipeline.json", Json)]
    public void LoadFile_EveryField_MapsOntoTheDefinition(string fileName, string content)
    {
        var path = temp.Write(fileName, content);

        var definition = PipelineLoader.LoadFile(path).DefinitionOrThrow();

        Assert.Equal("taxi", definition.Name);
        Assert.Equal(temp.Path, definition.BaseDirectory);
        Assert.Equal(path, definition.SourceFile);
        var import = definition.Nodes[0];
        Assert.Equal(("import", "FileCopy"), (import.Id, import.Component));
        Assert.Equal(MetadataValue.FromString("data/taxi.csv"), import.Parameters["source"]);
        Assert.True(import.EnableCache);
        Assert.Equal("default", import.Pool);
        var count = definition.Nodes[1];
        Assert.Equal(new ChannelRef("import", "examples"), count.Inputs["examples"]);
        Assert.Equal(MetadataValue.FromBool(true), count.Parameters["has_header"]);
        Assert.Equal(["module.py"], count.UserCode);
        Assert.Equal(new RetrySettings(3, TimeSpan.FromSeconds(5), 2.0, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10)), count.Retry);
        Assert.Equal(new ApprovalGate("approve-push", TimeSpan.FromHours(24)), count.Approval);
        Assert.Equal("gpu", count.Pool);
        Assert.False(count.EnableCache);
    }

    [Fact]
    public void LoadAndValidate_RelativePaths_ResolveAgainstTheFilesFolder()
    {
        var path = temp.Write("pipeline.yaml", Yaml);

        var graph = PipelineLoader.LoadAndValidate(path, ComponentRegistry.CreateWithBuiltIns()).GraphOrThrow();

        Assert.Equal(Path.Combine(temp.Path, "data", "taxi.csv"), graph.GetNode("import").Parameters["source"].StringValue);
        Assert.Equal([Path.Combine(temp.Path, "module.py")], graph.GetNode("count").UserCode);
    }

    [Fact]
    public void LoadFile_YamlSyntaxError_ReportsFileLineAndExpectation()
    {
        var path = temp.Write("broken.yaml", """
            name: taxi
            nodes:
              - id: import
                component: FileCopy
               parameters: {source: x}
            """);

        var result = PipelineLoader.LoadFile(path);

        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.File);
        Assert.Equal(5, error.Line);
        Assert.StartsWith("YAML syntax error:", error.Message, StringComparison.Ordinal);
        Assert.Contains("expected", error.Message, StringComparison.Ordinal);
        Assert.StartsWith($"{path}:5:", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFile_JsonSyntaxError_ReportsFileLineAndExpectation()
    {
        var path = temp.Write("broken.json", "{\n  \"name\": \"taxi\",\n  \"nodes\" []\n}\n");

        var error = Assert.Single(PipelineLoader.LoadFile(path).Errors);

        Assert.Equal((path, 3), (error.File, error.Line));
        Assert.StartsWith("JSON syntax error:", error.Message, StringComparison.Ordinal);
        Assert.Contains("Expected", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFile_UnknownField_ReportsLineNodeAndExpectedFields()
    {
        var path = temp.Write("typo.yaml", """
            name: taxi
            nodes:
              - id: import
                component: FileCopy
                parametres: {source: x}
            """);

        var error = Assert.Single(PipelineLoader.LoadFile(path).Errors);

        Assert.Equal(("import", "parametres", 5), (error.Node, error.Field, error.Line));
        Assert.Contains("unknown field 'parametres'", error.Message, StringComparison.Ordinal);
        Assert.Contains("parameters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFile_MalformedValues_ReportsEachWithItsField()
    {
        var path = temp.Write("bad.yaml", """
            name: taxi
            nodes:
              - id: count
                component: CsvRowCount
                inputs: {examples: importexamples}
                parameters: {has_header: [1, 2]}
                retry: {max_attempts: many, first_retry_interval: soon}
                cache: maybe
              - component: FileCopy
            """);

        var errors = PipelineLoader.LoadFile(path).Errors;

        Assert.Equal(
            ["cache", "inputs.examples", "nodes[1].id", "parameters.has_header", "retry.first_retry_interval", "retry.max_attempts"],
            errors.Select(e => e.Field).Order(StringComparer.Ordinal));
        Assert.All(errors, e => Assert.NotNull(e.Line));
    }

    [Fact]
    public void LoadFile_MissingFile_ReportsIt()
    {
        var error = Assert.Single(PipelineLoader.LoadFile(Path.Combine(temp.Path, "none.yaml")).Errors);

        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_QuotedNumber_StaysAString()
    {
        var definition = PipelineLoader.Parse("""
            name: p
            nodes:
              - {id: a, component: X, parameters: {q: "10", n: 10, d: 1.5, b: false, s: text}}
            """, PipelineFileFormat.Yaml).DefinitionOrThrow();

        var parameters = definition.Nodes[0].Parameters;
        Assert.Equal(MetadataValue.FromString("10"), parameters["q"]);
        Assert.Equal(MetadataValue.FromInt(10), parameters["n"]);
        Assert.Equal(MetadataValue.FromDouble(1.5), parameters["d"]);
        Assert.Equal(MetadataValue.FromBool(false), parameters["b"]);
        Assert.Equal(MetadataValue.FromString("text"), parameters["s"]);
    }

    [Fact]
    public void Serialize_LoadedDefinition_RoundTripsThroughJson()
    {
        var definition = PipelineLoader.LoadFile(temp.Write("pipeline.yaml", Yaml)).DefinitionOrThrow();

        var json = JsonSerializer.Serialize(definition);
        var back = JsonSerializer.Deserialize<PipelineDefinition>(json)!;

        Assert.Equal(JsonSerializer.Serialize(back), json);
        Assert.Equal(definition.Nodes[1].Retry, back.Nodes[1].Retry);
        Assert.Equal(definition.Nodes[1].Parameters["has_header"], back.Nodes[1].Parameters["has_header"]);
    }

    [Theory]
    [InlineData("500ms", 0.5)]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("2h", 7200)]
    [InlineData("1d", 86400)]
    [InlineData("45", 45)]
    [InlineData("00:01:30", 90)]
    public void TryParse_Duration_ReturnsSeconds(string text, double seconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Fact]
    public void TryParse_NotADuration_ReturnsFalse()
    {
        Assert.False(Durations.TryParse("soon", out _));
    }
}

using System.Text;
using Serverless.Ml.Data;
using Serverless.Ml.Transform;
using static Serverless.Ml.Transform.Tests.TestData;

namespace Serverless.Ml.Transform.Tests;

/// <summary>
/// Issue 18 items 3, 5 and 11 for transform specs: no input overflows the stack (a spec nested 100,000 deep used to end
/// the process), alias expansion is bounded (a billion laughs used to grow to gigabytes), and every spec error names
/// the file, line and column.
/// </summary>
public sealed class SpecReadingTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("transform-spec-reading");

    public void Dispose() => _dir.Delete(true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    public static TheoryData<string, string> DeepYaml => new()
    {
        { "flow sequences", "features: " + new string('[', 100_000) + new string(']', 100_000) },
        { "flow mappings", "features: " + string.Concat(Enumerable.Repeat("{a: ", 100_000)) + new string('}', 100_000) },
        { "block sequences", "features:\n  " + string.Concat(Enumerable.Repeat("- ", 100_000)) + "x\n" },
    };

    [Theory]
    [MemberData(nameof(DeepYaml))]
    public void Load_YamlNested100000Deep_FailsAtMaxDepthNamingThePlace(string shape, string yaml)
    {
        var path = Write("deep.yaml", yaml);
        Assert.InRange(new FileInfo(path).Length, 190_000, 600_000);

        var e = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.Load(path));

        Assert.True(e.Message.StartsWith($"{path}: line ", StringComparison.Ordinal), shape + ": " + e.Message);
        Assert.Contains(nameof(TransformSpecLimits.MaxDepth), e.Reason, StringComparison.Ordinal);
        Assert.True(e.Line is 1 or 2, e.Message);
        Assert.InRange(e.Column, 2, 400);
    }

    [Fact]
    public void FromJson_Nested100000Deep_FailsNamingLineAndColumn()
    {
        var json = "{\n  \"features\": " + new string('[', 100_000) + new string(']', 100_000) + "}";

        var e = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.FromJson(json, origin: "parameter 'spec'"));

        Assert.Equal(("parameter 'spec'", 2L), (e.Origin, e.Line));
        Assert.InRange(e.Column, 15, 80);
    }

    [Fact]
    public void FromYaml_BillionLaughs_FailsFastAtTheAliasThatPassesTheBound()
    {
        var sb = new StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (var level = 'b'; level <= 'j'; level++)
        {
            var previous = (char)(level - 1);
            sb.Append(level).Append(": &").Append(level).Append(" [").Append(string.Join(",", Enumerable.Repeat($"*{previous}", 9))).Append("]\n");
        }
        sb.Append("features: *j\n");

        var e = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.FromYaml(sb.ToString(), origin: "laughs.yaml"));

        Assert.Contains("once YAML aliases are expanded", e.Reason, StringComparison.Ordinal);
        Assert.Contains(nameof(TransformSpecLimits.MaxNodes), e.Reason, StringComparison.Ordinal);
        Assert.InRange(e.Line, 7, 8); // 9^7 nodes pass the default bound of 1,000,000 on line 7 ('g')
    }

    [Fact]
    public void FromYaml_MoreAliasesThanAllowed_FailsNamingTheSetting()
    {
        var yaml = "x: &x 1\nfeatures:\n  - { name: *x }\n  - { name: *x }\n  - { name: *x }\n";

        var e = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.FromYaml(yaml, new TransformSpecLimits { MaxAliases = 2 }));

        Assert.Equal((5L, 13L), (e.Line, e.Column));
        Assert.Contains(nameof(TransformSpecLimits.MaxAliases), e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void FromYaml_AliasesWithinBounds_Expanded()
    {
        var spec = TransformSpec.FromYaml("features:\n  - { name: x, kind: z_score, clip: &c { min: 0, max: 9 } }\n  - { name: y, input: x, clip: *c }\n");

        Assert.Equal(spec.Features[0].Clip, spec.Features[1].Clip);
        Assert.Equal(9, spec.Features[1].Clip!.Max);
    }

    [Fact]
    public void Load_YamlWithUnknownKind_NamesFileLineColumnAndTheKinds()
    {
        var path = Write("spec.yaml", "features:\n  - name: bill\n    kind: standardize\n");

        var e = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.Load(path));

        Assert.Equal((path, 3L, 11L), (e.Origin, e.Line, e.Column));
        var expected = $"{path}: line 3, column 11: 'features[0].kind': not a valid feature kind: use one of passthrough, z_score";
        Assert.True(e.Message.StartsWith(expected, StringComparison.Ordinal), e.Message);
    }

    [Fact]
    public void Load_JsonWithUnknownKind_NamesFileLineAndColumn()
    {
        var path = Write("spec.json", "{\n  \"features\": [\n    { \"name\": \"bill\", \"kind\": \"standardize\" }\n  ]\n}\n");

        var e = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.Load(path));

        Assert.Equal((path, 3L), (e.Origin, e.Line));
        Assert.InRange(e.Column, 31, 44); // the value's start (31) or end (44): System.Text.Json reports where it stopped
        Assert.Contains("not a valid feature kind: use one of passthrough, z_score", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void FromYaml_UnknownKeyWrongTypeOrSyntaxError_NamesLineAndColumn()
    {
        var typo = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.FromYaml("features:\n  - name: h\n    kind: hash\n    hashBucket: 8\n"));
        Assert.Equal(4L, typo.Line);
        Assert.Contains("unknown key 'hashBucket'", typo.Reason, StringComparison.Ordinal);

        var type = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.FromYaml("features:\n  - name: h\n    kind: hash\n    hashBuckets: many\n"));
        Assert.Equal((4L, 18L), (type.Line, type.Column));
        Assert.Contains("expected an integer", type.Reason, StringComparison.Ordinal);

        var syntax = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.FromYaml("features:\n  - name: \"unterminated\n"));
        Assert.True(syntax.Line >= 2, syntax.Message);

        var missing = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.FromYaml("label: { input: s }\n"));
        Assert.Contains("features", missing.Reason, StringComparison.Ordinal);

        var empty = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.FromYaml("# nothing\n"));
        Assert.Contains("empty", empty.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void FromYamlAndJson_EmptyFeatureOrComponent_NamesThePlaceInsteadOfFailingLater()
    {
        // Found by SpecFuzzTests: an empty list entry used to pass reading and crash the validator (NullReferenceException).
        var feature = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.FromYaml("features:\n  - { name: x }\n  - ~\n"));
        Assert.Equal((3L, 5L), (feature.Line, feature.Column));
        Assert.Contains("'features[1]': an empty feature entry", feature.Reason, StringComparison.Ordinal);

        var component = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.FromJson("{\"features\": [{\"name\": \"c\", \"kind\": \"cross\", \"components\": [\"a\", null]}]}"));
        Assert.Contains("'features[0].components[1]': an empty component", component.Reason, StringComparison.Ordinal);

        var inCode = new TransformSpec { Features = [new() { Name = "x" }, null!] };
        Assert.Equal("#2", Assert.Single(new TransformEstimator(inCode).Validate(Schema(Doubles("x", 1)))).Feature);
    }

    [Fact]
    public void FromJson_MoreFeaturesThanTheLimit_FailsBeforeAnyAnalyzerUnlessRaised()
    {
        var json = "{\"features\": [" + string.Join(",", Enumerable.Range(0, 10_001).Select(i => $"{{\"name\":\"f{i}\"}}")) + "]}";

        var e = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.FromJson(json));
        Assert.Equal((1L, 2L), (e.Line, e.Column));
        Assert.Contains(nameof(TransformSpecLimits.MaxFeatures), e.Reason, StringComparison.Ordinal);
        Assert.Contains("10001", e.Reason, StringComparison.Ordinal);

        var raised = TransformSpec.FromJson(json, new TransformSpecLimits { MaxFeatures = 20_000 });
        Assert.Equal(10_001, raised.Features.Count);

        // A spec built in code meets the same bound in validation, before any analyzer state exists.
        var schema = Schema(Doubles("f0", 1));
        var errors = new TransformEstimator(raised).Validate(schema);
        Assert.Contains(nameof(TransformSpecLimits.MaxFeatures), Assert.Single(errors).Message, StringComparison.Ordinal);
        Assert.Throws<TransformSpecException>(() => new TransformEstimator(raised).CreateAccumulator(schema));
    }

    [Fact]
    public void Load_FileLargerThanMaxSize_FailsBeforeReadingIt()
    {
        var path = Write("big.yaml", "features: []\n# " + new string('x', 5000) + "\n");

        var e = Assert.Throws<TransformSpecFormatException>(() => TransformSpec.Load(path, new TransformSpecLimits { MaxSize = 4096 }));

        Assert.Contains(nameof(TransformSpecLimits.MaxSize), e.Reason, StringComparison.Ordinal);
        Assert.Equal((1L, 1L), (e.Line, e.Column));
    }

    [Fact]
    public void Load_ValidYamlAndJson_StillReadTheSame()
    {
        var yaml = Write("ok.yaml", "# comment\nfeatures:\n  - { name: x, kind: z_score, clip: { min: -1.5, max: 9 } }\n  - name: s\n    kind: vocabulary\n    fill: { strategy: constant, text: '007' }\nlabel: { input: n, kind: regression }\n---\nsecond: document is ignored\n");
        var spec = TransformSpec.Load(yaml);
        var json = TransformSpec.Load(Write("ok.json", spec.ToJson()));

        Assert.Equal(spec.ToJson(), json.ToJson());
        Assert.Equal(-1.5, json.Features[0].Clip!.Min);
        Assert.Equal("007", json.Features[1].Fill!.Text);
        Assert.Equal(LabelKind.Regression, json.Label!.Kind);
        Assert.Empty(new TransformEstimator(json).Validate(Schema(Doubles("x", 1), Strings("s", "a"), Longs("n", 1))));
    }
}

using Serverless.Metadata;
using Serverless.Pipelines;

namespace Serverless.Pipelines.Tests;

public sealed class CacheKeyTests
{
    private static CacheKey Key(string version = "1", double threshold = 0.5, string input = "sha256:aa", string? code = null) => new(
        "Trainer",
        version,
        new Dictionary<string, MetadataValue> { ["threshold"] = threshold, ["epochs"] = 3L },
        new Dictionary<string, string> { ["examples"] = input },
        new Dictionary<string, string>(),
        code);

    [Fact]
    public void ToCanonicalJson_SortsKeysAndMarksDoubles()
    {
        Assert.Equal(
            """{"component":"Trainer","version":"1","parameters":{"epochs":3,"threshold":0.5},"inputs":{"examples":"sha256:aa"},"paths":{},"user_code":null}""",
            Key().ToCanonicalJson());
    }

    [Fact]
    public void Compute_SameInputsInAnotherOrder_GivesTheSameKey()
    {
        var reordered = Key() with { Parameters = new Dictionary<string, MetadataValue> { ["epochs"] = 3L, ["threshold"] = 0.5 } };

        Assert.Equal(Key().Compute(), reordered.Compute());
        Assert.Matches("^sha256:[0-9a-f]{64}$", Key().Compute());
    }

    [Fact]
    public void Compute_AnyIngredientChanged_ChangesTheKey()
    {
        var keys = new[] { Key(), Key(version: "2"), Key(threshold: 0.6), Key(input: "sha256:ab"), Key(code: "sha256:cc") }.Select(k => k.Compute());

        Assert.Equal(5, keys.Distinct().Count());
    }

    [Fact]
    public void Compute_IntegralDoubleVersusInteger_Differ()
    {
        Assert.NotEqual(Key(threshold: 3.0).Compute(), (Key() with { Parameters = new Dictionary<string, MetadataValue> { ["threshold"] = 3L, ["epochs"] = 3L } }).Compute());
    }
}

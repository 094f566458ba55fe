using System.Text.Json;
using Serverless.Metadata;

namespace Serverless.Metadata.Tests;

public sealed class MetadataValueTests
{
    [Theory]
    [InlineData("1", PropertyType.Int)]
    [InlineData("1.0", PropertyType.Double)]
    [InlineData("2.5e3", PropertyType.Double)]
    [InlineData("\"x\"", PropertyType.String)]
    [InlineData("true", PropertyType.Boolean)]
    public void Deserialize_JsonPrimitive_KeepsItsType(string json, PropertyType expected)
    {
        var value = JsonSerializer.Deserialize<MetadataValue>(json)!;

        Assert.Equal(expected, value.Type);
    }

    [Fact]
    public void Serialize_IntegralDouble_ReadsBackAsDouble()
    {
        var json = JsonSerializer.Serialize(new Dictionary<string, MetadataValue> { ["d"] = 3.0, ["i"] = 3L, ["s"] = "3", ["b"] = false });

        var back = JsonSerializer.Deserialize<Dictionary<string, MetadataValue>>(json)!;

        Assert.Equal("""{"d":3.0,"i":3,"s":"3","b":false}""", json);
        Assert.Equal(MetadataValue.FromDouble(3.0), back["d"]);
        Assert.Equal(MetadataValue.FromInt(3), back["i"]);
        Assert.Equal(MetadataValue.FromString("3"), back["s"]);
        Assert.Equal(MetadataValue.FromBool(false), back["b"]);
    }

    [Fact]
    public void FromDouble_NaN_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MetadataValue.FromDouble(double.NaN));
    }
}

using Google.Protobuf;
using Serverless.Ml.Onnx.Graph;
using Serverless.Ml.Onnx.Proto;

namespace Serverless.Ml.Onnx.Tests;

public sealed class OnnxGraphBuilderTests
{
    [Theory]
    [InlineData(16)]
    [InlineData(22)]
    public void Constructor_UnsupportedOpset_Throws(int opset)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new OnnxGraphBuilder("g", opset));
    }

    [Fact]
    public void Build_DefaultOpset_WritesIr8Opset17AndProducer()
    {
        var g = new OnnxGraphBuilder("g");
        g.Output(g.Relu(g.Input("x", OnnxElementType.Float, 1)), "y");
        g.SetMetadata("feature_names", "x");
        var model = g.Build();
        Assert.Equal(8, model.IrVersion);
        Assert.Equal(17, Assert.Single(model.OpsetImport).Version);
        Assert.Equal(OnnxVersions.ProducerName, model.ProducerName);
        Assert.Equal("x", Assert.Single(model.MetadataProps).Value);
    }

    [Fact]
    public void ToBytes_Model_UsesOnnxFieldNumbers()
    {
        // Golden wire bytes: ir_version is field 1 (varint: tag 0x08), graph field 7 (tag 0x3A),
        // opset_import field 8 (tag 0x42), producer_name field 2 (tag 0x12).
        var g = new OnnxGraphBuilder("g");
        g.Output(g.Relu(g.Input("x", OnnxElementType.Float, 1)), "y");
        var bytes = g.ToBytes();
        Assert.Equal(0x08, bytes[0]);
        Assert.Equal(0x08, bytes[1]);
        var fields = ReadTopLevelFields(bytes);
        Assert.Equal([1, 2, 3, 7, 8], fields.Order());
    }

    [Fact]
    public void Attribute_IntZero_IsStillSerialized()
    {
        // proto2 presence: an INT attribute equal to 0 must be on the wire (ONNX checkers count set fields).
        var bytes = OnnxAttribute.Int("axis", 0).ToByteArray();
        Assert.Contains(ReadTopLevelFields(bytes), f => f == 3);
        Assert.Equal([1, 3, 20], ReadTopLevelFields(bytes).Order());
    }

    [Fact]
    public void Input_DuplicateName_Throws()
    {
        var g = new OnnxGraphBuilder();
        g.Input("x", OnnxElementType.Float, 1);
        Assert.Throws<ArgumentException>(() => g.Input("x", OnnxElementType.Float, 1));
        Assert.Throws<ArgumentException>(() => g.Initializer("x", [1f], 1));
    }

    [Fact]
    public void Initializer_ShapeDoesNotMatchData_Throws()
    {
        var g = new OnnxGraphBuilder();
        var e = Assert.Throws<ArgumentException>(() => g.Initializer("w", new float[6], 2, 2));
        Assert.Contains("holds 4 elements but 6", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Node_ValueFromAnotherBuilder_Throws()
    {
        var other = new OnnxGraphBuilder();
        var foreign = other.Input("z", OnnxElementType.Float, 1);
        var g = new OnnxGraphBuilder();
        Assert.Throws<ArgumentException>(() => g.Relu(foreign));
    }

    [Fact]
    public void Output_UnknownElementType_Throws()
    {
        var g = new OnnxGraphBuilder();
        var x = g.Input("x", OnnxElementType.Float, 1);
        var custom = g.Node("Relu", [x], OnnxElementType.Undefined);
        Assert.Throws<ArgumentException>(() => g.Output(custom, "y"));
    }

    [Fact]
    public void Build_NoOutputs_Throws()
    {
        var g = new OnnxGraphBuilder();
        g.Input("x", OnnxElementType.Float, 1);
        Assert.Throws<InvalidOperationException>(() => g.Build());
    }

    [Fact]
    public void Node_UnknownDomain_Throws()
    {
        var g = new OnnxGraphBuilder();
        var x = g.Input("x", OnnxElementType.Float, 1);
        Assert.Throws<ArgumentException>(() => g.Node("Foo", [x], OnnxElementType.Float, domain: "com.example"));
    }

    [Fact]
    public void ScalarLike_StringValue_Throws()
    {
        var g = new OnnxGraphBuilder();
        var s = g.Input("s", OnnxElementType.String, 1);
        Assert.Throws<ArgumentException>(() => g.ScalarLike(s, 1));
    }

    [Fact]
    public void SaveLoad_ModelFile_RoundTripsEqual()
    {
        var model = Models.Mlp().Builder.Build();
        var path = Path.Combine(Path.GetTempPath(), $"rt-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxModelFile.Save(model, path);
            Assert.Equal(model, OnnxModelFile.Load(path));
            Assert.Throws<InvalidDataException>(() => OnnxModelFile.Parse([0xFF, 0xFF, 0xFF]));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Field numbers of the top-level fields of a protobuf message (distinct).</summary>
    private static HashSet<int> ReadTopLevelFields(byte[] bytes)
    {
        var fields = new HashSet<int>();
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            fields.Add(WireFormat.GetTagFieldNumber(tag));
            input.SkipLastField();
        }
        return fields;
    }
}

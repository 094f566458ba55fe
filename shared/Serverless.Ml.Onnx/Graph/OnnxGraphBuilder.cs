using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Serverless.Ml.Onnx.Proto;

namespace Serverless.Ml.Onnx.Graph;

/// <summary>
/// Builds an ONNX model in code: declare inputs, add initializers and nodes through the op helpers
/// (<c>Gemm</c>, <c>Relu</c>, <c>OneHot</c>, ...), declare outputs, then <see cref="Build"/> a
/// <see cref="ModelProto"/> or <see cref="ToBytes"/>. Exporters (Transform, Trainer) use this instead of a
/// Python toolchain. Nodes must be added in dependency order, which the fluent style gives naturally.
/// Not thread-safe: one builder per graph.
/// </summary>
public sealed partial class OnnxGraphBuilder
{
    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OnnxElementType> _inputTypes = new(StringComparer.Ordinal);
    private int _counter;
    private readonly SortedSet<string> _domains = new(StringComparer.Ordinal);

    /// <summary>Starts an empty graph.</summary>
    /// <param name="graphName">The graph's name, stored in the model.</param>
    /// <param name="opset">The ai.onnx opset (see <see cref="OnnxVersions"/>).</param>
    public OnnxGraphBuilder(string graphName = "graph", int opset = OnnxVersions.DefaultOpset)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(graphName);
        IrVersion = OnnxVersions.IrVersionFor(opset); // validates the opset
        Opset = opset;
        _graph = new GraphProto { Name = graphName };
    }

    /// <summary>The ai.onnx opset the model imports.</summary>
    public int Opset { get; }

    /// <summary>The IR version written, matched to <see cref="Opset"/>.</summary>
    public long IrVersion { get; }

    /// <summary>
    /// Declares a graph input. Dimensions may be sizes or symbols, e.g. <c>Input("x", Float, "batch", 7)</c>.
    /// No dimensions at all leaves the shape undeclared (any rank): ORT accepts that, the ONNX checker does not.
    /// </summary>
    public OnnxValue Input(string name, OnnxElementType elementType, params OnnxDim[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        RequireKnown(elementType, nameof(elementType));
        Claim(name);
        _graph.Input.Add(ValueInfo(name, elementType, shape));
        _inputTypes[name] = elementType;
        return new OnnxValue(name, elementType);
    }

    /// <summary>
    /// Declares <paramref name="value"/> a graph output under its own name. The element type must be known.
    /// Give the shape (e.g. <c>OnnxDim.Batch, 3</c>): ONNX Runtime runs without it, but the ONNX checker
    /// requires shapes on a model's inputs and outputs, and a model server reports them as metadata.
    /// </summary>
    public OnnxValue Output(OnnxValue value, params OnnxDim[]? shape) => Output(value, value.Name, shape);

    /// <summary>
    /// Declares <paramref name="value"/> a graph output named <paramref name="name"/>, adding an
    /// Identity node when the names differ (a graph output must be the name of a value).
    /// </summary>
    public OnnxValue Output(OnnxValue value, string name, params OnnxDim[]? shape)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        RequireKnown(value.ElementType, nameof(value));
        RequireExists(value);
        if (_graph.Output.Any(o => o.Name == name))
            throw new ArgumentException($"'{name}' is already a graph output.", nameof(name));
        var output = value;
        if (!string.Equals(name, value.Name, StringComparison.Ordinal))
        {
            Claim(name);
            _graph.Node.Add(NewNode("Identity", [value.Name], [name]));
            output = new OnnxValue(name, value.ElementType);
        }
        _graph.Output.Add(ValueInfo(name, value.ElementType, shape));
        return output;
    }

    /// <summary>Records a model metadata entry (e.g. feature names, training run id); readable by any ONNX tool.</summary>
    public void SetMetadata(string key, string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(value);
        _metadata[key] = value;
    }

    /// <summary>Assembles the model. The builder stays usable; each call returns a fresh copy.</summary>
    public ModelProto Build()
    {
        if (_graph.Output.Count == 0)
            throw new InvalidOperationException("The graph has no outputs; call Output(...) first.");
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = OnnxVersions.ProducerName,
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = _graph.Clone(),
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var domain in _domains)
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = OnnxVersions.DomainOpset(domain)!.Value });
        foreach (var (k, v) in _metadata)
            model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    /// <summary>Builds and serializes the model (the bytes of an .onnx file).</summary>
    public byte[] ToBytes() => Build().ToByteArray();

    // ---------------------------------------------------------------- initializers (constants)

    /// <summary>Adds a float constant tensor. A null name picks a unique one.</summary>
    public OnnxValue Initializer(string? name, float[] data, params long[] shape) =>
        AddInitializer(name, OnnxElementType.Float, shape, data.Length, t => t.RawData = RawBytes<float>(data));

    /// <summary>Adds a double constant tensor. A null name picks a unique one.</summary>
    public OnnxValue Initializer(string? name, double[] data, params long[] shape) =>
        AddInitializer(name, OnnxElementType.Double, shape, data.Length, t => t.RawData = RawBytes<double>(data));

    /// <summary>Adds an int64 constant tensor. A null name picks a unique one.</summary>
    public OnnxValue Initializer(string? name, long[] data, params long[] shape) =>
        AddInitializer(name, OnnxElementType.Int64, shape, data.Length, t => t.RawData = RawBytes<long>(data));

    /// <summary>Adds a bool constant tensor. A null name picks a unique one.</summary>
    public OnnxValue Initializer(string? name, bool[] data, params long[] shape) =>
        AddInitializer(name, OnnxElementType.Bool, shape, data.Length, t => t.RawData = RawBytes<bool>(data));

    /// <summary>Adds a string constant tensor (UTF-8). A null name picks a unique one.</summary>
    public OnnxValue Initializer(string? name, string[] data, params long[] shape) =>
        AddInitializer(name, OnnxElementType.String, shape, data.Length, t =>
        {
            foreach (var s in data)
                t.StringData.Add(ByteString.CopyFromUtf8(s ?? throw new ArgumentException("String constants must not contain null.", nameof(data))));
        });

    /// <summary>A 1-D float constant.</summary>
    public OnnxValue Constant(params float[] values) => Initializer(null, values, values.Length);

    /// <summary>A 1-D double constant.</summary>
    public OnnxValue Constant(params double[] values) => Initializer(null, values, values.Length);

    /// <summary>A 1-D int64 constant.</summary>
    public OnnxValue Constant(params long[] values) => Initializer(null, values, values.Length);

    /// <summary>A 1-D string constant.</summary>
    public OnnxValue Constant(params string[] values) => Initializer(null, values, values.Length);

    /// <summary>
    /// A scalar (rank-0) constant of the element type of <paramref name="like"/> (float, double or int64),
    /// so a helper can write <c>x * 2</c> without knowing x's type.
    /// </summary>
    public OnnxValue ScalarLike(OnnxValue like, double value) => like.ElementType switch
    {
        OnnxElementType.Float => Initializer(null, [(float)value]),
        OnnxElementType.Double => Initializer(null, [value]),
        OnnxElementType.Int64 => Initializer(null, [checked((long)value)]),
        _ => throw new ArgumentException($"Cannot make a numeric constant like '{like}': its element type must be Float, Double or Int64.", nameof(like)),
    };

    /// <summary>A 1-D constant of <paramref name="like"/>'s element type (float, double or int64).</summary>
    public OnnxValue VectorLike(OnnxValue like, IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return like.ElementType switch
        {
            OnnxElementType.Float => Constant(values.Select(v => (float)v).ToArray()),
            OnnxElementType.Double => Constant(values.ToArray()),
            OnnxElementType.Int64 => Constant(values.Select(v => checked((long)v)).ToArray()),
            _ => throw new ArgumentException($"Cannot make a numeric constant like '{like}': its element type must be Float, Double or Int64.", nameof(like)),
        };
    }

    // ---------------------------------------------------------------- generic nodes

    /// <summary>
    /// Adds any single-output node: the escape hatch for ops without a helper. Null inputs become
    /// ONNX's empty name (an omitted optional input).
    /// </summary>
    public OnnxValue Node(string opType, IReadOnlyList<OnnxValue?> inputs, OnnxElementType outputType,
        IEnumerable<AttributeProto>? attributes = null, string domain = "")
    {
        return Node(opType, inputs, [outputType], attributes, domain)[0];
    }

    /// <summary>Adds any node with several outputs, one per entry of <paramref name="outputTypes"/>.</summary>
    public IReadOnlyList<OnnxValue> Node(string opType, IReadOnlyList<OnnxValue?> inputs, IReadOnlyList<OnnxElementType> outputTypes,
        IEnumerable<AttributeProto>? attributes = null, string domain = "")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputTypes);
        ArgumentNullException.ThrowIfNull(domain);
        if (outputTypes.Count == 0)
            throw new ArgumentException("A node needs at least one output.", nameof(outputTypes));
        foreach (var input in inputs)
            if (input is { } v) RequireExists(v);
        if (domain.Length != 0)
        {
            if (OnnxVersions.DomainOpset(domain) is null)
                throw new ArgumentException($"Only the ai.onnx, {OnnxVersions.MlDomain} and {OnnxVersions.MicrosoftDomain} domains are imported; got '{domain}'.", nameof(domain));
            _domains.Add(domain);
        }

        var outputs = new OnnxValue[outputTypes.Count];
        var stem = opType.ToLowerInvariant();
        for (var i = 0; i < outputs.Length; i++)
            outputs[i] = new OnnxValue(FreshName(stem), outputTypes[i]);
        var node = NewNode(opType, inputs.Select(v => v?.Name ?? "").ToArray(), outputs.Select(o => o.Name).ToArray());
        node.Domain = domain;
        if (attributes != null)
            node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return outputs;
    }

    // ---------------------------------------------------------------- internals

    private OnnxValue AddInitializer(string? name, OnnxElementType type, long[] shape, int length, Action<TensorProto> fill)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(shape));
            count *= d;
        }
        if (count != length)
            throw new ArgumentException($"Shape [{string.Join(',', shape)}] holds {count} elements but {length} were given.", nameof(shape));
        if (name is null) name = FreshName("const"); // claimed by FreshName
        else Claim(name);
        var tensor = new TensorProto { Name = name, DataType = (int)type };
        tensor.Dims.AddRange(shape);
        fill(tensor);
        _graph.Initializer.Add(tensor);
        return new OnnxValue(name, type);
    }

    private static ByteString RawBytes<T>(T[] data) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        // ONNX raw_data is little-endian; .NET on every platform we run on is too.
        return ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan()));
    }

    private NodeProto NewNode(string opType, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = opType, Name = FreshName("n_" + opType.ToLowerInvariant()) };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    private string FreshName(string stem)
    {
        string name;
        do name = stem + "_" + (_counter++).ToString(CultureInfo.InvariantCulture);
        while (!_names.Add(name));
        return name;
    }

    private void Claim(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!_names.Add(name))
            throw new ArgumentException($"The name '{name}' is already used in this graph.", nameof(name));
    }

    private void RequireExists(OnnxValue value)
    {
        if (value.Name is null || !_names.Contains(value.Name))
            throw new ArgumentException($"'{value.Name}' is not a value of this graph (values must come from this builder).", nameof(value));
    }

    private static void RequireKnown(OnnxElementType type, string paramName)
    {
        if (type == OnnxElementType.Undefined || !Enum.IsDefined(type))
            throw new ArgumentException("The element type must be known; pass it explicitly for values whose type cannot be inferred.", paramName);
    }

    internal static ValueInfoProto ValueInfo(string name, OnnxElementType type, OnnxDim[]? shape)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)type };
        if (shape is { Length: > 0 })
        {
            var s = new TensorShapeProto();
            foreach (var d in shape)
            {
                var dim = new TensorShapeProto.Types.Dimension();
                if (d.Symbol != null) dim.DimParam = d.Symbol;
                else dim.DimValue = d.Size ?? throw new ArgumentException("A dimension must be a size or a symbol.", nameof(shape));
                s.Dim.Add(dim);
            }
            tensorType.Shape = s;
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }
}

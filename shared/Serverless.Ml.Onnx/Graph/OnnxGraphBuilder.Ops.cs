using Serverless.Ml.Onnx.Proto;

namespace Serverless.Ml.Onnx.Graph;

// One helper per ONNX operator we use, written against the opset-13..21 signatures (axes, shapes and
// clip bounds are inputs, not attributes). Output element types are inferred from the operator's spec.
public sealed partial class OnnxGraphBuilder
{
    /// <summary>Gemm: <c>alpha * op(A) * op(B) + beta * C</c>, op = optional transpose; C broadcasts (bias).</summary>
    public OnnxValue Gemm(OnnxValue a, OnnxValue b, OnnxValue? c = null, float alpha = 1f, float beta = 1f,
        bool transA = false, bool transB = false)
    {
        var attrs = new List<AttributeProto>();
        if (alpha != 1f) attrs.Add(OnnxAttribute.Float("alpha", alpha));
        if (beta != 1f) attrs.Add(OnnxAttribute.Float("beta", beta));
        if (transA) attrs.Add(OnnxAttribute.Int("transA", 1));
        if (transB) attrs.Add(OnnxAttribute.Int("transB", 1));
        return c is { } bias
            ? Node("Gemm", [a, b, bias], a.ElementType, attrs)
            : Node("Gemm", [a, b], a.ElementType, attrs);
    }

    /// <summary>MatMul with numpy semantics (batched, broadcasting).</summary>
    public OnnxValue MatMul(OnnxValue a, OnnxValue b) => Node("MatMul", [a, b], a.ElementType);

    /// <summary>Elementwise addition with numpy broadcasting.</summary>
    public OnnxValue Add(OnnxValue a, OnnxValue b) => Node("Add", [a, b], a.ElementType);

    /// <summary>Elementwise subtraction with numpy broadcasting.</summary>
    public OnnxValue Sub(OnnxValue a, OnnxValue b) => Node("Sub", [a, b], a.ElementType);

    /// <summary>Elementwise multiplication with numpy broadcasting.</summary>
    public OnnxValue Mul(OnnxValue a, OnnxValue b) => Node("Mul", [a, b], a.ElementType);

    /// <summary>Elementwise division with numpy broadcasting (integer division truncates).</summary>
    public OnnxValue Div(OnnxValue a, OnnxValue b) => Node("Div", [a, b], a.ElementType);

    /// <summary>max(x, 0).</summary>
    public OnnxValue Relu(OnnxValue x) => Node("Relu", [x], x.ElementType);

    /// <summary>1 / (1 + exp(-x)).</summary>
    public OnnxValue Sigmoid(OnnxValue x) => Node("Sigmoid", [x], x.ElementType);

    /// <summary>Hyperbolic tangent.</summary>
    public OnnxValue Tanh(OnnxValue x) => Node("Tanh", [x], x.ElementType);

    /// <summary>Natural logarithm.</summary>
    public OnnxValue Log(OnnxValue x) => Node("Log", [x], x.ElementType);

    /// <summary>Exponential.</summary>
    public OnnxValue Exp(OnnxValue x) => Node("Exp", [x], x.ElementType);

    /// <summary>Square root.</summary>
    public OnnxValue Sqrt(OnnxValue x) => Node("Sqrt", [x], x.ElementType);

    /// <summary>Absolute value.</summary>
    public OnnxValue Abs(OnnxValue x) => Node("Abs", [x], x.ElementType);

    /// <summary>Negation.</summary>
    public OnnxValue Neg(OnnxValue x) => Node("Neg", [x], x.ElementType);

    /// <summary>Round toward negative infinity.</summary>
    public OnnxValue Floor(OnnxValue x) => Node("Floor", [x], x.ElementType);

    /// <summary>A copy of x (used to rename a value).</summary>
    public OnnxValue Identity(OnnxValue x) => Node("Identity", [x], x.ElementType);

    /// <summary>True where x is NaN (bool output).</summary>
    public OnnxValue IsNaN(OnnxValue x) => Node("IsNaN", [x], OnnxElementType.Bool);

    /// <summary>Softmax along <paramref name="axis"/> (default: last).</summary>
    public OnnxValue Softmax(OnnxValue x, long axis = -1) => Node("Softmax", [x], x.ElementType, [OnnxAttribute.Int("axis", axis)]);

    /// <summary>
    /// 2-D (or N-D) convolution of x [N, C, H, W] with weights w [M, C/group, kH, kW] and optional bias b [M].
    /// Null arrays keep ONNX's defaults (strides/dilations 1, no padding; kernel shape taken from w).
    /// </summary>
    public OnnxValue Conv(OnnxValue x, OnnxValue w, OnnxValue? b = null, long[]? kernelShape = null, long[]? strides = null,
        long[]? pads = null, long[]? dilations = null, long group = 1)
    {
        var attrs = new List<AttributeProto>();
        if (kernelShape != null) attrs.Add(OnnxAttribute.Ints("kernel_shape", kernelShape));
        if (strides != null) attrs.Add(OnnxAttribute.Ints("strides", strides));
        if (pads != null) attrs.Add(OnnxAttribute.Ints("pads", pads));
        if (dilations != null) attrs.Add(OnnxAttribute.Ints("dilations", dilations));
        if (group != 1) attrs.Add(OnnxAttribute.Int("group", group));
        return b is { } bias ? Node("Conv", [x, w, bias], x.ElementType, attrs) : Node("Conv", [x, w], x.ElementType, attrs);
    }

    /// <summary>Max pooling over spatial windows of <paramref name="kernelShape"/> (strides default to 1).</summary>
    public OnnxValue MaxPool(OnnxValue x, long[] kernelShape, long[]? strides = null, long[]? pads = null)
    {
        ArgumentNullException.ThrowIfNull(kernelShape);
        var attrs = new List<AttributeProto> { OnnxAttribute.Ints("kernel_shape", kernelShape) };
        if (strides != null) attrs.Add(OnnxAttribute.Ints("strides", strides));
        if (pads != null) attrs.Add(OnnxAttribute.Ints("pads", pads));
        return Node("MaxPool", [x], x.ElementType, attrs);
    }

    /// <summary>Flattens to 2-D: dimensions before <paramref name="axis"/> form rows, the rest columns.</summary>
    public OnnxValue Flatten(OnnxValue x, long axis = 1) => Node("Flatten", [x], x.ElementType, [OnnxAttribute.Int("axis", axis)]);

    /// <summary>Reshape to a constant shape; 0 copies the input dimension, -1 is inferred.</summary>
    public OnnxValue Reshape(OnnxValue x, params long[] shape) => Reshape(x, Constant(shape));

    /// <summary>Reshape to a shape computed in the graph (an int64 1-D value).</summary>
    public OnnxValue Reshape(OnnxValue x, OnnxValue shape) => Node("Reshape", [x, shape], x.ElementType);

    /// <summary>Concatenation along <paramref name="axis"/>; all inputs share the element type.</summary>
    public OnnxValue Concat(long axis, params OnnxValue[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length == 0) throw new ArgumentException("Concat needs at least one input.", nameof(inputs));
        return Node("Concat", inputs.Select(v => (OnnxValue?)v).ToArray(), inputs[0].ElementType, [OnnxAttribute.Int("axis", axis)]);
    }

    /// <summary>Element type conversion (numeric to string and back included).</summary>
    public OnnxValue Cast(OnnxValue x, OnnxElementType to)
    {
        RequireKnown(to, nameof(to));
        return Node("Cast", [x], to, [OnnxAttribute.Int("to", (long)to)]);
    }

    /// <summary>Elementwise select: x where <paramref name="condition"/> is true, else y (broadcasting).</summary>
    public OnnxValue Where(OnnxValue condition, OnnxValue x, OnnxValue y) => Node("Where", [condition, x, y], x.ElementType);

    /// <summary>Clamps to [min, max]; a null bound is omitted. Bounds are scalars of x's type.</summary>
    public OnnxValue Clip(OnnxValue x, double? min = null, double? max = null)
    {
        OnnxValue? lo = min is { } mn ? ScalarLike(x, mn) : null;
        OnnxValue? hi = max is { } mx ? ScalarLike(x, mx) : null;
        if (hi is not null) return Node("Clip", [x, lo, hi], x.ElementType);
        return lo is not null ? Node("Clip", [x, lo], x.ElementType) : Node("Clip", [x], x.ElementType);
    }

    /// <summary>Elementwise a == b (bool). Numeric and bool inputs; strings need opset 19 (see <see cref="Lookup(OnnxValue, IReadOnlyList{string}, long)"/>).</summary>
    public OnnxValue Equal(OnnxValue a, OnnxValue b) => Node("Equal", [a, b], OnnxElementType.Bool);

    /// <summary>Elementwise a &lt; b (bool).</summary>
    public OnnxValue Less(OnnxValue a, OnnxValue b) => Node("Less", [a, b], OnnxElementType.Bool);

    /// <summary>Elementwise a &gt; b (bool).</summary>
    public OnnxValue Greater(OnnxValue a, OnnxValue b) => Node("Greater", [a, b], OnnxElementType.Bool);

    /// <summary>Elementwise a &lt;= b (bool).</summary>
    public OnnxValue LessOrEqual(OnnxValue a, OnnxValue b) => Node("LessOrEqual", [a, b], OnnxElementType.Bool);

    /// <summary>Elementwise a &gt;= b (bool).</summary>
    public OnnxValue GreaterOrEqual(OnnxValue a, OnnxValue b) => Node("GreaterOrEqual", [a, b], OnnxElementType.Bool);

    /// <summary>Index of the maximum along <paramref name="axis"/> (int64; first index on ties).</summary>
    public OnnxValue ArgMax(OnnxValue x, long axis = -1, bool keepDims = true) =>
        Node("ArgMax", [x], OnnxElementType.Int64, [OnnxAttribute.Int("axis", axis), OnnxAttribute.Int("keepdims", keepDims ? 1 : 0)]);

    /// <summary>Takes entries of <paramref name="data"/> at int64 <paramref name="indices"/> along <paramref name="axis"/>.</summary>
    public OnnxValue Gather(OnnxValue data, OnnxValue indices, long axis = 0) =>
        Node("Gather", [data, indices], data.ElementType, [OnnxAttribute.Int("axis", axis)]);

    /// <summary>Inserts size-1 dimensions at <paramref name="axes"/>.</summary>
    public OnnxValue Unsqueeze(OnnxValue x, params long[] axes)
    {
        ArgumentNullException.ThrowIfNull(axes);
        if (axes.Length == 0) throw new ArgumentException("Unsqueeze needs at least one axis.", nameof(axes));
        return Node("Unsqueeze", [x, Constant(axes)], x.ElementType);
    }

    /// <summary>Removes size-1 dimensions at <paramref name="axes"/> (none given: all size-1 dimensions).</summary>
    public OnnxValue Squeeze(OnnxValue x, params long[] axes)
    {
        ArgumentNullException.ThrowIfNull(axes);
        return axes.Length == 0 ? Node("Squeeze", [x], x.ElementType) : Node("Squeeze", [x, Constant(axes)], x.ElementType);
    }

    /// <summary>Sum over <paramref name="axes"/> (none given: all axes).</summary>
    public OnnxValue ReduceSum(OnnxValue x, long[]? axes = null, bool keepDims = true)
    {
        var attrs = new[] { OnnxAttribute.Int("keepdims", keepDims ? 1 : 0) };
        return axes is { Length: > 0 }
            ? Node("ReduceSum", [x, Constant(axes)], x.ElementType, attrs)
            : Node("ReduceSum", [x], x.ElementType, attrs);
    }
}

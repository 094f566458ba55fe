using System.Collections.ObjectModel;

namespace Serverless.Ml.Onnx.Runtime;

/// <summary>
/// A dense tensor in managed memory: element type, shape and a row-major backing array
/// (float[], double[], long[], bool[] or string[]). Inputs are pinned and handed to ONNX Runtime
/// without copying; outputs are copied out of ORT's memory into a new tensor.
/// </summary>
public sealed class OnnxTensor
{
    private readonly Array _data;
    private readonly long[] _shape;

    private OnnxTensor(OnnxElementType elementType, Array data, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"Dimensions must be >= 0; got [{string.Join(',', shape)}].", nameof(shape));
            count = checked(count * d);
        }
        if (count != data.LongLength)
            throw new ArgumentException($"Shape [{string.Join(',', shape)}] holds {count} elements but the data has {data.LongLength}.", nameof(shape));
        ElementType = elementType;
        _data = data;
        _shape = (long[])shape.Clone();
        Shape = new ReadOnlyCollection<long>(_shape);
    }

    /// <summary>The element type.</summary>
    public OnnxElementType ElementType { get; }

    /// <summary>The dimensions (empty for a scalar).</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>The number of elements.</summary>
    public long ElementCount => _data.LongLength;

    internal Array Data => _data;

    internal long[] ShapeArray => _shape;

    /// <summary>A float tensor over <paramref name="data"/> (not copied).</summary>
    public static OnnxTensor Create(float[] data, params long[] shape) => new(OnnxElementType.Float, data, shape);

    /// <summary>A double tensor over <paramref name="data"/> (not copied).</summary>
    public static OnnxTensor Create(double[] data, params long[] shape) => new(OnnxElementType.Double, data, shape);

    /// <summary>An int64 tensor over <paramref name="data"/> (not copied).</summary>
    public static OnnxTensor Create(long[] data, params long[] shape) => new(OnnxElementType.Int64, data, shape);

    /// <summary>A bool tensor over <paramref name="data"/> (not copied).</summary>
    public static OnnxTensor Create(bool[] data, params long[] shape) => new(OnnxElementType.Bool, data, shape);

    /// <summary>A string tensor over <paramref name="data"/> (not copied); null entries are not allowed.</summary>
    public static OnnxTensor Create(string[] data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (Array.IndexOf(data, null) >= 0)
            throw new ArgumentException("String tensors must not contain null.", nameof(data));
        return new(OnnxElementType.String, data, shape);
    }

    /// <summary>
    /// The backing array (not a copy), typed: float, double, long, bool or string matching
    /// <see cref="ElementType"/>. Do not change it while a run uses the tensor.
    /// </summary>
    /// <exception cref="InvalidOperationException">T does not match the element type.</exception>
    public T[] GetData<T>() => _data as T[]
        ?? throw new InvalidOperationException($"The tensor holds {ElementType} elements, not {typeof(T).Name}.");

    /// <inheritdoc />
    public override string ToString() => $"{ElementType}[{string.Join(',', _shape)}]";
}

/// <summary>A tensor with the name of the graph input or output it belongs to.</summary>
/// <param name="Name">The input or output name.</param>
/// <param name="Tensor">The value.</param>
public readonly record struct NamedTensor(string Name, OnnxTensor Tensor)
{
    /// <summary>A named float tensor.</summary>
    public static NamedTensor Create(string name, float[] data, params long[] shape) => new(name, OnnxTensor.Create(data, shape));

    /// <summary>A named double tensor.</summary>
    public static NamedTensor Create(string name, double[] data, params long[] shape) => new(name, OnnxTensor.Create(data, shape));

    /// <summary>A named int64 tensor.</summary>
    public static NamedTensor Create(string name, long[] data, params long[] shape) => new(name, OnnxTensor.Create(data, shape));

    /// <summary>A named bool tensor.</summary>
    public static NamedTensor Create(string name, bool[] data, params long[] shape) => new(name, OnnxTensor.Create(data, shape));

    /// <summary>A named string tensor.</summary>
    public static NamedTensor Create(string name, string[] data, params long[] shape) => new(name, OnnxTensor.Create(data, shape));
}

/// <summary>Lookup helpers for run results.</summary>
public static class NamedTensorListExtensions
{
    /// <summary>The tensor named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public static OnnxTensor Get(this IReadOnlyList<NamedTensor> tensors, string name)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        foreach (var t in tensors)
            if (string.Equals(t.Name, name, StringComparison.Ordinal)) return t.Tensor;
        throw new KeyNotFoundException($"No tensor named '{name}' (have: {string.Join(", ", tensors.Select(t => t.Name))}).");
    }
}

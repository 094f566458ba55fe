using System.Collections.ObjectModel;

namespace Serverless.Ml.Onnx.Runtime;

/// <summary>
/// A dense tensor in managed memory: element type, shape and a row-major backing array
/// (float[], double[], long[], bool[] or string[]). Inputs are pinned and handed to ONNX Runtime
/// without copying (strings are copied, as ORT stores its own); outputs are copied out of ORT's memory
/// into a new tensor. Ours rather than the package's OrtValue, because it owns no native memory: results
/// can be kept, sliced and serialized after the run, and nothing needs disposing.
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

    /// <summary>A zero-filled tensor of a numeric element type ORT can write into; null for other types or more than int.MaxValue elements.</summary>
    internal static OnnxTensor? Allocate(OnnxElementType elementType, long[] shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            // Both factors stay below 2^31 before multiplying, so the product cannot overflow.
            if (d < 0 || d > Array.MaxLength || (count *= d) > Array.MaxLength) return null;
        }
        var n = (int)count;
        return elementType switch
        {
            OnnxElementType.Float => new OnnxTensor(elementType, new float[n], shape),
            OnnxElementType.Double => new OnnxTensor(elementType, new double[n], shape),
            OnnxElementType.Int64 => new OnnxTensor(elementType, new long[n], shape),
            OnnxElementType.Bool => new OnnxTensor(elementType, new bool[n], shape),
            _ => null,
        };
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

using System.Buffers;
using System.Runtime.CompilerServices;
using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Runtime;

namespace Serverless.Serving;

/// <summary>
/// Validated input rows for one model: one column per signature input (in signature order), each a pooled
/// buffer of <see cref="Rows"/> × (elements per row) values. Produced by the JSON codec, consumed by the
/// <see cref="RequestBatcher"/>. Dispose returns the buffers to the pool.
/// </summary>
public sealed class InferenceRequest : IDisposable
{
    internal InferenceRequest(ModelSignature signature)
    {
        Signature = signature;
        Columns = new ColumnBuffer[signature.Inputs.Count];
        for (var i = 0; i < Columns.Length; i++) Columns[i] = new ColumnBuffer(signature.Inputs[i].ElementType);
        RowShapes = new long[signature.Inputs.Count][];
    }

    /// <summary>The signature the rows were validated against.</summary>
    public ModelSignature Signature { get; }

    /// <summary>Number of rows (instances, examples or the columnar batch size).</summary>
    public int Rows { get; internal set; }

    internal ColumnBuffer[] Columns { get; }

    /// <summary>Per input, the shape of one row (the input's shape without the batch dimension), resolved.</summary>
    internal long[][] RowShapes { get; }

    /// <summary>True when every input has a batch dimension and fixed row shape, so rows can be stacked with other requests'.</summary>
    internal bool Stackable
    {
        get
        {
            foreach (var spec in Signature.Inputs)
            {
                if (!spec.HasBatchDimension) return false;
                for (var d = 1; d < spec.Shape.Count; d++) if (spec.Shape[d] < 0) return false;
            }
            return true;
        }
    }

    /// <summary>Builds the model's input tensors from the given requests' rows, stacked in order.</summary>
    internal static NamedTensor[] Stack(IReadOnlyList<InferenceRequest> requests, int totalRows)
    {
        var first = requests[0];
        var inputs = first.Signature.Inputs;
        var tensors = new NamedTensor[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var rowShape = first.RowShapes[i];
            // Rank-0 inputs have no batch dimension; every other input's first dimension carries the rows.
            var hasBatch = inputs[i].Shape.Count > 0;
            var shape = hasBatch ? [totalRows, .. rowShape] : rowShape;
            var perRow = 1L;
            foreach (var d in rowShape) perRow *= d;
            var total = checked((int)(perRow * totalRows));
            tensors[i] = new NamedTensor(inputs[i].Name, first.Columns[i].ElementType switch
            {
                OnnxElementType.Float => OnnxTensor.Create(Concat<float>(requests, i, total), shape),
                OnnxElementType.Double => OnnxTensor.Create(Concat<double>(requests, i, total), shape),
                OnnxElementType.Int64 => OnnxTensor.Create(Concat<long>(requests, i, total), shape),
                OnnxElementType.Bool => OnnxTensor.Create(Concat<bool>(requests, i, total), shape),
                OnnxElementType.String => OnnxTensor.Create(Concat<string>(requests, i, total), shape),
                var t => throw new NotSupportedException($"Input element type {t} is not supported."),
            });
        }
        return tensors;
    }

    private static T[] Concat<T>(IReadOnlyList<InferenceRequest> requests, int column, int total)
    {
        var result = new T[total];
        var offset = 0;
        foreach (var r in requests)
        {
            var span = r.Columns[column].Span<T>();
            span.CopyTo(result.AsSpan(offset));
            offset += span.Length;
        }
        if (offset != total) throw new InvalidOperationException($"Column {column} holds {offset} values; expected {total}.");
        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var c in Columns) c.Return();
    }
}

/// <summary>A growable pooled buffer of one element type.</summary>
internal sealed class ColumnBuffer(OnnxElementType elementType)
{
    private Array? _array;

    public OnnxElementType ElementType { get; } = elementType;

    public int Count { get; private set; }

    public ReadOnlySpan<T> Span<T>() => _array is null ? default : new ReadOnlySpan<T>((T[])_array, 0, Count);

    public void Add<T>(T value)
    {
        var array = (T[]?)_array;
        if (array is null || Count == array.Length)
        {
            var grown = ArrayPool<T>.Shared.Rent(Math.Max(16, Count * 2));
            if (array is not null)
            {
                array.AsSpan(0, Count).CopyTo(grown);
                ArrayPool<T>.Shared.Return(array, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
            }
            _array = array = grown;
        }
        array[Count++] = value;
    }

    public T Get<T>(int index) => ((T[])_array!)[index];

    public void Return()
    {
        switch (_array)
        {
            case float[] f: ArrayPool<float>.Shared.Return(f); break;
            case double[] d: ArrayPool<double>.Shared.Return(d); break;
            case long[] l: ArrayPool<long>.Shared.Return(l); break;
            case bool[] b: ArrayPool<bool>.Shared.Return(b); break;
            case string[] s: ArrayPool<string>.Shared.Return(s, clearArray: true); break;
        }
        _array = null;
        Count = 0;
    }
}

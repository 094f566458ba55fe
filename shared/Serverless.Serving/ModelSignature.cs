using Serverless.Ml.Onnx;

namespace Serverless.Serving;

/// <summary>
/// What a served model accepts and returns (TF Serving's <c>serving_default</c> signature), read from the
/// ONNX graph at load time so that requests are validated before they reach ONNX Runtime.
/// </summary>
/// <param name="Inputs">The inputs, in the graph's order.</param>
/// <param name="Outputs">The outputs, in the graph's order.</param>
/// <param name="ClassLabels">Class names for <c>:classify</c> (model metadata <c>class_labels</c>, see <c>ModelClassLabels</c>); empty: class indices are used.</param>
public sealed record ModelSignature(IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs, IReadOnlyList<string> ClassLabels)
{
    /// <summary>TF Serving's default signature name, the only one an ONNX model has.</summary>
    public const string DefaultSignatureName = "serving_default";

    /// <summary>The index of the input named <paramref name="name"/>, or -1.</summary>
    public int IndexOfInput(string name)
    {
        for (var i = 0; i < Inputs.Count; i++)
            if (string.Equals(Inputs[i].Name, name, StringComparison.Ordinal)) return i;
        return -1;
    }
}

/// <summary>One input or output of a signature.</summary>
/// <param name="Name">The tensor name.</param>
/// <param name="ElementType">The element type.</param>
/// <param name="Shape">The dimensions, -1 where not fixed (the first is normally the batch).</param>
/// <param name="AllowsNaN">For float inputs: whether NaN (a missing value) is accepted, i.e. the graph tests the input with IsNaN (an imputation).</param>
public sealed record TensorSpec(string Name, OnnxElementType ElementType, IReadOnlyList<long> Shape, bool AllowsNaN)
{
    /// <summary>True when the first dimension is dynamic, so rows of several requests can be stacked.</summary>
    public bool HasBatchDimension => Shape.Count > 0 && Shape[0] < 0;

    private long[]? _rowShape;

    /// <summary>The shape of one row: <see cref="Shape"/> without its first dimension.</summary>
    internal long[] ExpectedRowShape => _rowShape ??= Shape.Count > 0 ? Shape.Skip(1).ToArray() : [];

    /// <summary>TF's dtype name (DT_FLOAT, DT_STRING, ...), as the metadata API reports it.</summary>
    public string TensorFlowDType => ElementType switch
    {
        OnnxElementType.Float => "DT_FLOAT",
        OnnxElementType.Double => "DT_DOUBLE",
        OnnxElementType.Int64 => "DT_INT64",
        OnnxElementType.Int32 => "DT_INT32",
        OnnxElementType.String => "DT_STRING",
        OnnxElementType.Bool => "DT_BOOL",
        _ => "DT_INVALID",
    };
}

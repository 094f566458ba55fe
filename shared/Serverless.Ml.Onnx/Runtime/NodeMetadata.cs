namespace Serverless.Ml.Onnx.Runtime;

/// <summary>
/// What a model declares for one input or output, as ONNX Runtime reports it: name, element type and
/// shape. Unknown or symbolic dimensions are -1 in <see cref="Shape"/>, with the symbol (e.g. <c>batch</c>)
/// in <see cref="SymbolicDimensions"/> ("" for fixed dimensions). A model server uses this to validate
/// requests and to describe the model (TF Serving's metadata endpoint).
/// </summary>
/// <param name="Name">The input/output name.</param>
/// <param name="ElementType">The element type; Undefined for non-tensor values (maps, sequences).</param>
/// <param name="Shape">The dimensions; -1 where not fixed.</param>
/// <param name="SymbolicDimensions">The symbol of each dimension, "" where fixed or unnamed.</param>
public sealed record NodeMetadata(string Name, OnnxElementType ElementType, IReadOnlyList<long> Shape, IReadOnlyList<string> SymbolicDimensions)
{
    /// <summary>True for tensors (everything this library builds).</summary>
    public bool IsTensor => ElementType != OnnxElementType.Undefined;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Name}: {ElementType}[{string.Join(',', Shape.Select((d, i) => d >= 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : SymbolicDimensions[i].Length > 0 ? SymbolicDimensions[i] : "?"))}]";
}

namespace Serverless.Ml.Onnx.Graph;

/// <summary>
/// A named value (tensor) in a graph under construction, as returned by <see cref="OnnxGraphBuilder"/>'s
/// op helpers. The element type is tracked so helpers can make constants of the matching type; it is
/// <see cref="OnnxElementType.Undefined"/> where the builder cannot infer it.
/// </summary>
/// <param name="Name">The value's name in the graph.</param>
/// <param name="ElementType">The element type, if known.</param>
public readonly record struct OnnxValue(string Name, OnnxElementType ElementType)
{
    /// <inheritdoc />
    public override string ToString() => $"{Name}:{ElementType}";
}

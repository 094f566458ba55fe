namespace Serverless.Ml.Onnx.Runtime;

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

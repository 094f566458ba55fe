namespace Serverless.Ml.Data;

/// <summary>One column of a table schema: its name, kind and, for tensors, its per-row shape.</summary>
/// <param name="Name">Column (feature) name.</param>
/// <param name="Kind">Physical kind.</param>
/// <param name="Shape">Per-row shape for <see cref="ColumnKind.Float32Tensor"/>; empty for scalar kinds.</param>
public sealed record ColumnSpec(string Name, ColumnKind Kind, IReadOnlyList<int> Shape)
{
    /// <summary>Creates a scalar column spec.</summary>
    public ColumnSpec(string name, ColumnKind kind)
        : this(name, kind, Array.Empty<int>())
    {
    }

    /// <summary>Number of values per row: 1 for scalars, the product of <see cref="Shape"/> for tensors.</summary>
    public int ValuesPerRow
    {
        get
        {
            if (Kind != ColumnKind.Float32Tensor) return 1;
            var n = 1;
            foreach (var d in Shape) n = checked(n * d);
            return n;
        }
    }

    /// <inheritdoc />
    public bool Equals(ColumnSpec? other) =>
        other is not null && Name == other.Name && Kind == other.Kind && Shape.SequenceEqual(other.Shape);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Name, Kind, Shape.Count);
}

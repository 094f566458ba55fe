namespace Serverless.Ml.Data;

/// <summary>
/// The physical kind of a column. Kept small on purpose: it maps one-to-one onto what a tf.Example can
/// carry (int64_list, float_list, bytes_list) plus the fixed-shape float tensors images need.
/// </summary>
public enum ColumnKind
{
    /// <summary>64-bit signed integers (tf.Example int64_list).</summary>
    Int64,

    /// <summary>64-bit floats; written to tf.Example as float_list (float32, TensorFlow has no double list).</summary>
    Float64,

    /// <summary>UTF-8 text (tf.Example bytes_list holding valid UTF-8).</summary>
    String,

    /// <summary>Opaque bytes (tf.Example bytes_list).</summary>
    Bytes,

    /// <summary>A fixed-shape float32 tensor per row, e.g. a 28x28 image (tf.Example float_list of the flattened values).</summary>
    Float32Tensor,
}

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

/// <summary>
/// The schema of a table: an ordered list of uniquely named columns. Immutable; readers produce one up front
/// so consumers know the shape of every batch before data flows.
/// </summary>
public sealed class TableSchema : IEquatable<TableSchema>
{
    private readonly Dictionary<string, int> _index;

    /// <summary>Creates a schema; names must be unique.</summary>
    public TableSchema(IEnumerable<ColumnSpec> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        Columns = columns.ToArray();
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < Columns.Count; i++)
        {
            var c = Columns[i];
            if (c.Kind == ColumnKind.Float32Tensor && (c.Shape.Count == 0 || c.Shape.Any(d => d <= 0)))
                throw new ArgumentException($"tensor column '{c.Name}' needs a non-empty shape of positive dimensions", nameof(columns));
            if (!_index.TryAdd(c.Name, i)) throw new ArgumentException($"duplicate column name '{c.Name}'", nameof(columns));
        }
    }

    /// <summary>The columns in order.</summary>
    public IReadOnlyList<ColumnSpec> Columns { get; }

    /// <summary>Index of a column by name, or -1.</summary>
    public int IndexOf(string name) => _index.TryGetValue(name, out var i) ? i : -1;

    /// <inheritdoc />
    public bool Equals(TableSchema? other) => other is not null && Columns.SequenceEqual(other.Columns);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as TableSchema);

    /// <inheritdoc />
    public override int GetHashCode() => Columns.Count;

    /// <inheritdoc />
    public override string ToString() => string.Join(", ", Columns.Select(c => c.Kind == ColumnKind.Float32Tensor ? $"{c.Name}:{c.Kind}[{string.Join('x', c.Shape)}]" : $"{c.Name}:{c.Kind}"));
}

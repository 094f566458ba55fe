namespace Serverless.Ml.Data;

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

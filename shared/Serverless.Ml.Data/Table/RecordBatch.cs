namespace Serverless.Ml.Data;

/// <summary>A chunk of rows: one column per schema entry, all of the same length.</summary>
public sealed class RecordBatch
{
    /// <summary>Creates a batch; the columns must match the schema in order, kind and length.</summary>
    public RecordBatch(TableSchema schema, IReadOnlyList<Column> columns, int rowCount)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        if (columns.Count != schema.Columns.Count) throw new ArgumentException("column count differs from schema", nameof(columns));
        for (var i = 0; i < columns.Count; i++)
        {
            if (!columns[i].Spec.Equals(schema.Columns[i])) throw new ArgumentException($"column {i} '{columns[i].Spec.Name}' does not match the schema", nameof(columns));
            if (columns[i].Length != rowCount) throw new ArgumentException($"column '{columns[i].Spec.Name}' has {columns[i].Length} rows, expected {rowCount}", nameof(columns));
        }
        Schema = schema;
        Columns = columns;
        RowCount = rowCount;
    }

    /// <summary>Schema shared by every batch of a reader.</summary>
    public TableSchema Schema { get; }

    /// <summary>Columns in schema order.</summary>
    public IReadOnlyList<Column> Columns { get; }

    /// <summary>Number of rows.</summary>
    public int RowCount { get; }

    /// <summary>A column by name; throws if absent.</summary>
    public Column this[string name]
    {
        get
        {
            var i = Schema.IndexOf(name);
            if (i < 0) throw new KeyNotFoundException($"no column '{name}'");
            return Columns[i];
        }
    }

    /// <summary>Copies the selected rows into a new batch.</summary>
    public RecordBatch Select(ReadOnlySpan<int> rows)
    {
        var cols = new Column[Columns.Count];
        for (var i = 0; i < cols.Length; i++) cols[i] = Columns[i].Select(rows);
        return new RecordBatch(Schema, cols, rows.Length);
    }
}

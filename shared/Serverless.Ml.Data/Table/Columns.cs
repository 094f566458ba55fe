namespace Serverless.Ml.Data;

/// <summary>
/// A column of one batch: values plus a missing-value mask. Columns are chunk-sized (readers emit e.g. 64k rows
/// per batch) so that a file larger than memory streams through with bounded memory.
/// Value slots of missing rows hold a default (0, NaN-free) and must be ignored.
/// </summary>
public abstract class Column
{
    private protected Column(ColumnSpec spec, bool[] missing, int length)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(missing);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (missing.Length < length) throw new ArgumentException("missing mask shorter than the column", nameof(missing));
        Spec = spec;
        Missing = missing;
        Length = length;
    }

    /// <summary>Name, kind and shape.</summary>
    public ColumnSpec Spec { get; }

    /// <summary>Number of rows.</summary>
    public int Length { get; internal set; }

    /// <summary>Missing-value mask; <c>true</c> where the row has no value. May be longer than <see cref="Length"/>.</summary>
    public bool[] Missing { get; internal set; }

    /// <summary>Whether row <paramref name="row"/> has no value.</summary>
    public bool IsMissing(int row) => Missing[row];

    /// <summary>Counts missing rows.</summary>
    public int CountMissing()
    {
        var n = 0;
        var m = Missing.AsSpan(0, Length);
        foreach (var b in m) if (b) n++;
        return n;
    }

    /// <summary>The value of a row as a boxed object (null when missing); for tests and diagnostics, not hot loops.</summary>
    public abstract object? GetValue(int row);

    /// <summary>Copies rows selected by <paramref name="rows"/> into a new column (used to split batches).</summary>
    public abstract Column Select(ReadOnlySpan<int> rows);

    private protected bool[] SelectMissing(ReadOnlySpan<int> rows)
    {
        var m = new bool[rows.Length];
        for (var i = 0; i < rows.Length; i++) m[i] = Missing[rows[i]];
        return m;
    }
}

/// <summary>A column of 64-bit integers.</summary>
public sealed class Int64Column : Column
{
    /// <summary>Wraps existing arrays (not copied).</summary>
    public Int64Column(ColumnSpec spec, long[] values, bool[] missing, int length)
        : base(spec, missing, length)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length < length) throw new ArgumentException("values shorter than the column", nameof(values));
        Values = values;
    }

    /// <summary>Values; slots of missing rows are 0.</summary>
    public long[] Values { get; internal set; }

    /// <inheritdoc />
    public override object? GetValue(int row) => Missing[row] ? null : Values[row];

    /// <inheritdoc />
    public override Column Select(ReadOnlySpan<int> rows)
    {
        var v = new long[rows.Length];
        for (var i = 0; i < rows.Length; i++) v[i] = Values[rows[i]];
        return new Int64Column(Spec, v, SelectMissing(rows), rows.Length);
    }
}

/// <summary>A column of 64-bit floats. NaN is a value (counted by statistics), not a missing marker.</summary>
public sealed class Float64Column : Column
{
    /// <summary>Wraps existing arrays (not copied).</summary>
    public Float64Column(ColumnSpec spec, double[] values, bool[] missing, int length)
        : base(spec, missing, length)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length < length) throw new ArgumentException("values shorter than the column", nameof(values));
        Values = values;
    }

    /// <summary>Values; slots of missing rows are 0.</summary>
    public double[] Values { get; internal set; }

    /// <inheritdoc />
    public override object? GetValue(int row) => Missing[row] ? null : Values[row];

    /// <inheritdoc />
    public override Column Select(ReadOnlySpan<int> rows)
    {
        var v = new double[rows.Length];
        for (var i = 0; i < rows.Length; i++) v[i] = Values[rows[i]];
        return new Float64Column(Spec, v, SelectMissing(rows), rows.Length);
    }
}

/// <summary>
/// A dictionary-encoded text column: each row holds a code into a batch-local dictionary of distinct values.
/// Categorical data repeats a few values millions of times, so this saves one string per row and lets statistics
/// count codes in an array instead of hashing strings.
/// </summary>
public sealed class StringColumn : Column
{
    /// <summary>Wraps existing arrays (not copied). Codes of missing rows are ignored.</summary>
    public StringColumn(ColumnSpec spec, int[] codes, IReadOnlyList<string> dictionary, bool[] missing, int length)
        : base(spec, missing, length)
    {
        ArgumentNullException.ThrowIfNull(codes);
        ArgumentNullException.ThrowIfNull(dictionary);
        if (codes.Length < length) throw new ArgumentException("codes shorter than the column", nameof(codes));
        Codes = codes;
        Dictionary = dictionary;
    }

    /// <summary>Per-row index into <see cref="Dictionary"/>.</summary>
    public int[] Codes { get; }

    /// <summary>Distinct values of this batch.</summary>
    public IReadOnlyList<string> Dictionary { get; }

    /// <summary>Creates a column from plain values (null = missing).</summary>
    public static StringColumn FromValues(ColumnSpec spec, IReadOnlyList<string?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var dict = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var codes = new int[values.Count];
        var missing = new bool[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            var s = values[i];
            if (s is null) { missing[i] = true; continue; }
            if (!index.TryGetValue(s, out var c)) { c = dict.Count; dict.Add(s); index[s] = c; }
            codes[i] = c;
        }
        return new StringColumn(spec, codes, dict, missing, values.Count);
    }

    /// <summary>The string of a row, or null when missing.</summary>
    public string? GetString(int row) => Missing[row] ? null : Dictionary[Codes[row]];

    /// <inheritdoc />
    public override object? GetValue(int row) => GetString(row);

    /// <inheritdoc />
    public override Column Select(ReadOnlySpan<int> rows)
    {
        var c = new int[rows.Length];
        for (var i = 0; i < rows.Length; i++) c[i] = Codes[rows[i]];
        return new StringColumn(Spec, c, Dictionary, SelectMissing(rows), rows.Length);
    }
}

/// <summary>A column of opaque byte strings.</summary>
public sealed class BytesColumn : Column
{
    /// <summary>Wraps existing arrays (not copied). Entries of missing rows may be null.</summary>
    public BytesColumn(ColumnSpec spec, byte[]?[] values, bool[] missing, int length)
        : base(spec, missing, length)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length < length) throw new ArgumentException("values shorter than the column", nameof(values));
        Values = values;
    }

    /// <summary>Values; null or ignored where missing.</summary>
    public byte[]?[] Values { get; }

    /// <inheritdoc />
    public override object? GetValue(int row) => Missing[row] ? null : Values[row];

    /// <inheritdoc />
    public override Column Select(ReadOnlySpan<int> rows)
    {
        var v = new byte[]?[rows.Length];
        for (var i = 0; i < rows.Length; i++) v[i] = Values[rows[i]];
        return new BytesColumn(Spec, v, SelectMissing(rows), rows.Length);
    }
}

/// <summary>A column holding one fixed-shape float32 tensor per row, stored flattened row after row.</summary>
public sealed class Float32TensorColumn : Column
{
    /// <summary>Wraps an existing flat array of <c>length * spec.ValuesPerRow</c> floats (not copied).</summary>
    public Float32TensorColumn(ColumnSpec spec, float[] values, bool[] missing, int length)
        : base(spec, missing, length)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (spec.Kind != ColumnKind.Float32Tensor) throw new ArgumentException("spec is not a tensor column", nameof(spec));
        if (values.Length < (long)length * spec.ValuesPerRow) throw new ArgumentException("values shorter than the column", nameof(values));
        Values = values;
    }

    /// <summary>Flattened values, <see cref="ColumnSpec.ValuesPerRow"/> per row.</summary>
    public float[] Values { get; }

    /// <summary>The tensor of one row.</summary>
    public ReadOnlySpan<float> GetRow(int row) => Values.AsSpan(row * Spec.ValuesPerRow, Spec.ValuesPerRow);

    /// <inheritdoc />
    public override object? GetValue(int row) => Missing[row] ? null : GetRow(row).ToArray();

    /// <inheritdoc />
    public override Column Select(ReadOnlySpan<int> rows)
    {
        var per = Spec.ValuesPerRow;
        var v = new float[rows.Length * per];
        for (var i = 0; i < rows.Length; i++) Values.AsSpan(rows[i] * per, per).CopyTo(v.AsSpan(i * per, per));
        return new Float32TensorColumn(Spec, v, SelectMissing(rows), rows.Length);
    }
}

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

/// <summary>
/// A streaming source of record batches. Each call to <see cref="ReadBatches"/> starts from the beginning, so a
/// reader can be scanned more than once (e.g. inference then conversion) without keeping rows in memory.
/// </summary>
public interface IRecordBatchReader
{
    /// <summary>The schema every batch follows, known before data flows.</summary>
    TableSchema Schema { get; }

    /// <summary>Streams the batches in order.</summary>
    IEnumerable<RecordBatch> ReadBatches(CancellationToken cancellation = default);
}

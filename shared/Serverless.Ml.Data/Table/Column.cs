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

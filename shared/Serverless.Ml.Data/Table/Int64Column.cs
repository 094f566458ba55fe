namespace Serverless.Ml.Data;

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

namespace Serverless.Ml.Data;

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

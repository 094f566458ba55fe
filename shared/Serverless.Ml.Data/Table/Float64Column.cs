namespace Serverless.Ml.Data;

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

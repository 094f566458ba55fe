namespace Serverless.Ml.Data;

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

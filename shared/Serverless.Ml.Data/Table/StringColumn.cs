namespace Serverless.Ml.Data;

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

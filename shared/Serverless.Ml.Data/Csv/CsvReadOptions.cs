namespace Serverless.Ml.Data.Csv;

/// <summary>Options for <see cref="CsvReader"/>. Defaults follow what pandas' <c>read_csv</c> users expect.</summary>
public sealed class CsvReadOptions
{
    /// <summary>Field delimiter, a single ASCII character. Default <c>,</c>.</summary>
    public char Delimiter { get; set; } = ',';

    /// <summary>Whether the first record holds the column names. Default true.</summary>
    public bool HasHeader { get; set; } = true;

    /// <summary>Column names when <see cref="HasHeader"/> is false (default names are <c>column_0</c>, ...).</summary>
    public IReadOnlyList<string>? ColumnNames { get; set; }

    /// <summary>
    /// Field texts that mean "no value" (compared after unquoting, case-sensitive). Default: empty, <c>NA</c>,
    /// <c>N/A</c>, <c>null</c>, <c>NULL</c>. Note that <c>NaN</c> is not here: in a float column it is a value.
    /// </summary>
    public IReadOnlyCollection<string> MissingTokens { get; set; } = ["", "NA", "N/A", "null", "NULL"];

    /// <summary>
    /// Rows read up front to infer column kinds (int64, else float64, else string, widened by every value seen).
    /// Default: all of them (<see cref="long.MaxValue"/>), one parallel pass before reading, so a text value anywhere
    /// in a numeric column makes it a string column instead of a failed read. A smaller sample saves that pass for
    /// kinds not fixed by <see cref="TypeOverrides"/>; a later value that contradicts the sample is then a bad row.
    /// </summary>
    public long InferenceSampleRows { get; set; } = long.MaxValue;

    /// <summary>Per-column kind overrides that skip inference (Int64, Float64, String or Bytes).</summary>
    public IReadOnlyDictionary<string, ColumnKind> TypeOverrides { get; set; } = new Dictionary<string, ColumnKind>();

    /// <summary>Rows per emitted batch. Default 65,536.</summary>
    public int BatchSize { get; set; } = 65_536;

    /// <summary>
    /// How many bad rows (wrong field count, unparsable number) may be skipped and counted before reading fails.
    /// Default 0: the first bad row throws a <see cref="CsvFormatException"/> naming file, line and column.
    /// </summary>
    public long MaxBadRows { get; set; }

    /// <summary>
    /// Longest record in bytes (a line, or the lines of one quoted record). Default 16 MiB (16,777,216); at most 1 GiB.
    /// A longer one (often a missing newline or an unclosed quote) is a <see cref="CsvFormatException"/> with its line,
    /// byte offset and first bytes as soon as the limit is passed: memory stays a few blocks plus one record, so a
    /// 100 MB line or a 5 GB file without a newline costs no more than this.
    /// </summary>
    public int MaxRecordBytes { get; set; } = 16 << 20;

    /// <summary>Batches parsed concurrently. Default: processor count, at most 4. 1 parses on the calling thread.</summary>
    public int Parallelism { get; set; } = Math.Clamp(Environment.ProcessorCount, 1, 4);
}

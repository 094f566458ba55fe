namespace Serverless.Ml.Data.Csv;

/// <summary>One skipped row: where it was and why.</summary>
/// <param name="Line">1-based physical line where the record starts.</param>
/// <param name="Column">Column name, or null for row-level problems.</param>
/// <param name="Reason">What was wrong.</param>
public sealed record CsvBadRow(long Line, string? Column, string Reason);

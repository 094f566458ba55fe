namespace Serverless.Ml.Data.Csv;

/// <summary>A malformed CSV row; names the file, the 1-based physical line and, where known, the column.</summary>
public sealed class CsvFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public CsvFormatException(string path, long line, string? column, string reason)
        : base(column is null ? $"{path}: line {line}: {reason}" : $"{path}: line {line}, column '{column}': {reason}")
    {
        Path = path;
        Line = line;
        Column = column;
        Reason = reason;
    }

    /// <summary>Creates an exception with a message only (for serializers and tools).</summary>
    public CsvFormatException()
        : this("?", 0, null, "bad CSV row")
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    public CsvFormatException(string message)
        : this("?", 0, null, message)
    {
    }

    /// <summary>Creates an exception with a message and inner exception.</summary>
    public CsvFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = "?";
        Reason = message;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>1-based physical line where the record starts.</summary>
    public long Line { get; }

    /// <summary>The column name, or null for row-level problems such as a wrong field count.</summary>
    public string? Column { get; }

    /// <summary>What was wrong.</summary>
    public string Reason { get; }
}

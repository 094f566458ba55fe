namespace Serverless.Ml.Transform;

/// <summary>
/// A transform spec that cannot be read: bad YAML or JSON, a value of the wrong type, an unknown key, or a bound of
/// <see cref="TransformSpecLimits"/> exceeded. Names the source (the file, or the parameter an inline spec came from),
/// the 1-based line and column, and what is wrong; the message quotes at most a short prefix of any value.
/// </summary>
public sealed class TransformSpecFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public TransformSpecFormatException(string origin, long line, long column, string reason)
        : this(origin, line, column, reason, null)
    {
    }

    /// <summary>Creates the exception with the parser's exception as the cause.</summary>
    public TransformSpecFormatException(string origin, long line, long column, string reason, Exception? innerException)
        : base($"{origin}: line {line}, column {column}: {reason}", innerException)
    {
        Origin = origin;
        Line = line;
        Column = column;
        Reason = reason;
    }

    /// <summary>Creates the exception with a message only (for serializers and tools).</summary>
    public TransformSpecFormatException()
        : this("<spec>", 1, 1, "invalid transform spec")
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    public TransformSpecFormatException(string message)
        : this("<spec>", 1, 1, message)
    {
    }

    /// <summary>Creates the exception with a message and the cause.</summary>
    public TransformSpecFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        Origin = "<spec>";
        Line = 1;
        Column = 1;
        Reason = message;
    }

    /// <summary>The file, or <c>parameter 'spec'</c> for an inline spec.</summary>
    public string Origin { get; }

    /// <summary>1-based line.</summary>
    public long Line { get; }

    /// <summary>1-based column (characters for YAML, bytes for JSON).</summary>
    public long Column { get; }

    /// <summary>What is wrong.</summary>
    public string Reason { get; }
}

namespace Serverless.Ml.Data.TfRecord;

/// <summary>A corrupt TFRecord file: bad CRC or truncated record. Names the file and the byte offset of the record.</summary>
public sealed class TfRecordFormatException : IOException
{
    /// <summary>Creates the exception.</summary>
    public TfRecordFormatException(string path, long offset, string reason)
        : base($"{path}: TFRecord at byte offset {offset}: {reason}")
    {
        Path = path;
        Offset = offset;
    }

    /// <summary>Creates an exception with a message only.</summary>
    public TfRecordFormatException()
        : this("?", 0, "corrupt record")
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    public TfRecordFormatException(string message)
        : this("?", 0, message)
    {
    }

    /// <summary>Creates an exception with a message and inner exception.</summary>
    public TfRecordFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = "?";
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Offset of the record's first byte in the (uncompressed) record stream.</summary>
    public long Offset { get; }
}

namespace Serverless.Ml.Data.TfRecord;

/// <summary>Options for <see cref="TfExampleReader"/>.</summary>
public sealed class TfExampleReadOptions
{
    /// <summary>Schema to read with; null infers it from the first <see cref="InferenceSampleRecords"/> records.</summary>
    public TableSchema? Schema { get; set; }

    /// <summary>Records sampled for schema inference. Default 1,000.</summary>
    public int InferenceSampleRecords { get; set; } = 1_000;

    /// <summary>Rows per batch. Default 65,536.</summary>
    public int BatchSize { get; set; } = 65_536;

    /// <summary>Compression of the files; Auto decides by extension.</summary>
    public TfRecordCompression Compression { get; set; } = TfRecordCompression.Auto;

    /// <summary>Drop features the schema does not name instead of failing. Default false: silent data loss is worse.</summary>
    public bool IgnoreUnknownFeatures { get; set; }

    /// <summary>
    /// Largest record in bytes. Default <see cref="TfRecordReader.DefaultMaxRecordBytes"/> (64 MiB). A header declaring
    /// more is a <see cref="TfRecordFormatException"/> naming the file and byte offset (usually a corrupt file).
    /// </summary>
    public int MaxRecordBytes { get; set; } = TfRecordReader.DefaultMaxRecordBytes;
}

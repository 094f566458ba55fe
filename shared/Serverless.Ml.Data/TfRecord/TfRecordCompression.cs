namespace Serverless.Ml.Data.TfRecord;

/// <summary>Compression of a TFRecord file.</summary>
public enum TfRecordCompression
{
    /// <summary>Decide by file name: <c>.gz</c> / <c>.gzip</c> means gzip (TFX's ExampleGen names its shards so).</summary>
    Auto,

    /// <summary>Plain framing.</summary>
    None,

    /// <summary>The whole file is one gzip stream (TensorFlow's <c>compression_type="GZIP"</c>).</summary>
    Gzip,
}

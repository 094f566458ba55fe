using Serverless.Ml.Data.Csv;

namespace Serverless.Ml.Data.ExampleGen;

/// <summary>Input file format.</summary>
public enum InputFormat
{
    /// <summary>CSV with a header (see <see cref="CsvReader"/>).</summary>
    Csv,

    /// <summary>TFRecord files of tf.Example (plain or gzip).</summary>
    TfRecord,

    /// <summary>An IDX images file plus an IDX labels file (MNIST layout).</summary>
    Idx,
}

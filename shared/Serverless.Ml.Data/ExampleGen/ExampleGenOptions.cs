using Serverless.Ml.Data.Csv;
using Serverless.Ml.Data.Idx;
using Serverless.Ml.Data.TfRecord;

namespace Serverless.Ml.Data.ExampleGen;

/// <summary>What <see cref="ExampleGenCore.Run"/> reads and writes. Defaults follow TFX's ExampleGen.</summary>
public sealed class ExampleGenOptions
{
    /// <summary>Directory that input patterns are relative to.</summary>
    public required string InputBase { get; set; }

    /// <summary>Where <c>Split-{name}/</c> folders are written.</summary>
    public required string OutputDirectory { get; set; }

    /// <summary>Input format. Default CSV.</summary>
    public InputFormat Format { get; set; } = InputFormat.Csv;

    /// <summary>
    /// Pattern of a single input that is split by hash (e.g. <c>data/span-{SPAN}/*.csv</c>); for IDX the images file.
    /// Ignored when <see cref="InputSplits"/> is set.
    /// </summary>
    public string? Pattern { get; set; }

    /// <summary>IDX only: the labels pattern that pairs with <see cref="Pattern"/>.</summary>
    public string? LabelsPattern { get; set; }

    /// <summary>Pre-split inputs by file pattern; when set, no hashing happens.</summary>
    public IReadOnlyList<InputSplit>? InputSplits { get; set; }

    /// <summary>Output splits for hash splitting. Default train 2 : eval 1.</summary>
    public IReadOnlyList<SplitSpec> OutputSplits { get; set; } = [new("train", 2), new("eval", 1)];

    /// <summary>Feature whose value decides the split (rows with equal keys stay together); null hashes the whole row.</summary>
    public string? PartitionFeature { get; set; }

    /// <summary>Span to read; null takes the latest.</summary>
    public long? Span { get; set; }

    /// <summary>Version to read; null takes the latest within the span.</summary>
    public long? Version { get; set; }

    /// <summary>Rows per output shard before a new shard file starts. Default 1,000,000.</summary>
    public long RowsPerShard { get; set; } = 1_000_000;

    /// <summary>TFRecord compression for shards. Default gzip (TFX writes <c>.gz</c> shards).</summary>
    public TfRecordCompression Compression { get; set; } = TfRecordCompression.Gzip;

    /// <summary>Also write the columnar (<c>.smlc</c>) form in the same pass. Default true.</summary>
    public bool WriteColumnar { get; set; } = true;

    /// <summary>CSV reading options.</summary>
    public CsvReadOptions Csv { get; set; } = new();

    /// <summary>TFRecord reading options.</summary>
    public TfExampleReadOptions TfRecord { get; set; } = new();

    /// <summary>IDX reading options.</summary>
    public IdxDatasetOptions Idx { get; set; } = new();
}

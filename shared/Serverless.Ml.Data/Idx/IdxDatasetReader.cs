namespace Serverless.Ml.Data.Idx;

/// <summary>
/// Pairs an IDX images file with an IDX labels file as a table: a fixed-shape float tensor column (the item shape,
/// e.g. 28x28) and an int64 label column. Streams items, so memory stays at one batch.
/// </summary>
public sealed class IdxDatasetReader : IRecordBatchReader
{
    private readonly IdxDatasetOptions _options;

    /// <summary>Checks both headers; counts must agree.</summary>
    /// <exception cref="InvalidDataException">Headers disagree or the labels file is not 1-D.</exception>
    public IdxDatasetReader(string imagesPath, string labelsPath, IdxDatasetOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesPath);
        ArgumentException.ThrowIfNullOrEmpty(labelsPath);
        _options = options ?? new IdxDatasetOptions();
        ImagesPath = imagesPath;
        LabelsPath = labelsPath;
        using var img = IdxReader.Open(imagesPath);
        using var lab = IdxReader.Open(labelsPath);
        if (lab.Header.Dimensions.Count != 1) throw new InvalidDataException($"{labelsPath}: labels must be 1-D, found {lab.Header.Dimensions.Count} dimensions");
        if (img.Header.Dimensions.Count < 2) throw new InvalidDataException($"{imagesPath}: images need at least 2 dimensions");
        if (img.Header.Count != lab.Header.Count) throw new InvalidDataException($"{imagesPath} has {img.Header.Count} items but {labelsPath} has {lab.Header.Count}");
        Count = img.Header.Count;
        Schema = new TableSchema([
            new ColumnSpec(_options.ImageColumn, ColumnKind.Float32Tensor, img.Header.ItemShape),
            new ColumnSpec(_options.LabelColumn, ColumnKind.Int64),
        ]);
    }

    /// <summary>The images file.</summary>
    public string ImagesPath { get; }

    /// <summary>The labels file.</summary>
    public string LabelsPath { get; }

    /// <summary>Number of items.</summary>
    public int Count { get; }

    /// <inheritdoc />
    public TableSchema Schema { get; }

    /// <inheritdoc />
    public IEnumerable<RecordBatch> ReadBatches(CancellationToken cancellation = default)
    {
        using var img = IdxReader.Open(ImagesPath);
        using var lab = IdxReader.Open(LabelsPath);
        var per = Schema.Columns[0].ValuesPerRow;
        var label = new float[1];
        var inv = 1f / _options.Scale;
        for (var start = 0; start < Count; start += _options.BatchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            var n = Math.Min(_options.BatchSize, Count - start);
            var pixels = new float[n * per];
            var labels = new long[n];
            for (var i = 0; i < n; i++)
            {
                var dst = pixels.AsSpan(i * per, per);
                img.TryReadItem(dst);
                if (_options.Scale != 1f) foreach (ref var v in dst) v *= inv;
                lab.TryReadItem(label);
                labels[i] = (long)label[0];
            }
            yield return new RecordBatch(Schema, [
                new Float32TensorColumn(Schema.Columns[0], pixels, new bool[n], n),
                new Int64Column(Schema.Columns[1], labels, new bool[n], n),
            ], n);
        }
    }
}

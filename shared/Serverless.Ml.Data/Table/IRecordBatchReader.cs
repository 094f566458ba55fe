namespace Serverless.Ml.Data;

/// <summary>
/// A streaming source of record batches. Each call to <see cref="ReadBatches"/> starts from the beginning, so a
/// reader can be scanned more than once (e.g. inference then conversion) without keeping rows in memory.
/// </summary>
public interface IRecordBatchReader
{
    /// <summary>The schema every batch follows, known before data flows.</summary>
    TableSchema Schema { get; }

    /// <summary>Streams the batches in order.</summary>
    IEnumerable<RecordBatch> ReadBatches(CancellationToken cancellation = default);
}

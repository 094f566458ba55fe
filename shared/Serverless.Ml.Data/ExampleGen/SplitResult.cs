namespace Serverless.Ml.Data.ExampleGen;

/// <summary>What one split received.</summary>
/// <param name="Name">Split name.</param>
/// <param name="Rows">Rows written.</param>
/// <param name="TfRecordFiles">TFRecord shard paths.</param>
/// <param name="ColumnarFiles">Columnar shard paths (same rows, same order, one per TFRecord shard).</param>
public sealed record SplitResult(string Name, long Rows, IReadOnlyList<string> TfRecordFiles, IReadOnlyList<string> ColumnarFiles);

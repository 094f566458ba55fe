namespace Serverless.Ml.Data.ExampleGen;

/// <summary>The outcome of an ExampleGen run.</summary>
/// <param name="Span">Span read (null when the pattern has none).</param>
/// <param name="Version">Version read.</param>
/// <param name="InputFiles">Files read.</param>
/// <param name="Schema">Table schema of the examples.</param>
/// <param name="Splits">Per split results, in configuration order.</param>
/// <param name="TotalRows">Rows written over all splits.</param>
/// <param name="BadRows">CSV rows skipped under the tolerance.</param>
public sealed record ExampleGenResult(
    long? Span,
    long? Version,
    IReadOnlyList<string> InputFiles,
    TableSchema Schema,
    IReadOnlyList<SplitResult> Splits,
    long TotalRows,
    long BadRows);

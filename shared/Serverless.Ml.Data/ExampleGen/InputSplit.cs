namespace Serverless.Ml.Data.ExampleGen;

/// <summary>A pre-split input: a split name and the pattern of its files.</summary>
/// <param name="Name">Split name.</param>
/// <param name="Pattern">Input pattern relative to the input base; for IDX, the images pattern.</param>
/// <param name="LabelsPattern">IDX only: the labels pattern.</param>
public sealed record InputSplit(string Name, string Pattern, string? LabelsPattern = null);

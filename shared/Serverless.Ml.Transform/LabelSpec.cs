namespace Serverless.Ml.Transform;

/// <summary>The label: transformed into the examples file, never part of the serving graph.</summary>
/// <param name="Input">The raw label column.</param>
/// <param name="Kind">Classification or regression.</param>
public sealed record LabelSpec(string Input, LabelKind Kind = LabelKind.Classification);

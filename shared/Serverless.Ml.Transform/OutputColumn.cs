namespace Serverless.Ml.Transform;

/// <summary>One entry of the output layout: columns [Offset, Offset + Width) of the matrix belong to feature Name.</summary>
/// <param name="Name">Feature name.</param>
/// <param name="Kind">Transform kind.</param>
/// <param name="Offset">First column.</param>
/// <param name="Width">Number of columns.</param>
/// <param name="Encoding">Encoding for categorical kinds, else null.</param>
public sealed record OutputColumn(string Name, FeatureKind Kind, int Offset, int Width, CategoricalEncoding? Encoding);

namespace Serverless.Ml.Transform;

/// <summary>The in-process transform of one batch: a row-major float matrix and the label.</summary>
/// <param name="Rows">Number of rows.</param>
/// <param name="Width">Columns per row.</param>
/// <param name="Features">Rows x Width floats, row-major.</param>
/// <param name="Labels">Class index (-1 missing/unseen) or regression target (NaN missing) per row; null without a label.</param>
public sealed record TransformedBatch(int Rows, int Width, float[] Features, float[]? Labels);

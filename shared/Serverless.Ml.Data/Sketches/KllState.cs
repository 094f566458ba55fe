namespace Serverless.Ml.Data.Sketches;

/// <summary>Serializable KLL state.</summary>
/// <param name="K">Accuracy parameter.</param>
/// <param name="ExactLimit">Values kept verbatim before the first compaction.</param>
/// <param name="Count">Values added.</param>
/// <param name="Min">Exact min.</param>
/// <param name="Max">Exact max.</param>
/// <param name="Rng">Generator state.</param>
/// <param name="Levels">Retained items per level (level h weighs 2^h).</param>
public sealed record KllState(int K, int ExactLimit, long Count, double Min, double Max, ulong Rng, double[][] Levels);

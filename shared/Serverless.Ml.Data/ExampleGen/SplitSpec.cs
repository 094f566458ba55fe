namespace Serverless.Ml.Data.ExampleGen;

/// <summary>An output split and its share of hash buckets (TFX's <c>SplitConfig</c>).</summary>
/// <param name="Name">Split name, e.g. <c>train</c>.</param>
/// <param name="HashBuckets">Relative weight; rows whose hash falls in this split's buckets go here.</param>
public sealed record SplitSpec(string Name, int HashBuckets);

namespace Serverless.Ml.Data.ExampleGen;

/// <summary>Files matched by an input pattern for one span / version.</summary>
/// <param name="Span">The span (null when the pattern has no <c>{SPAN}</c>).</param>
/// <param name="Version">The version (null when the pattern has no <c>{VERSION}</c>).</param>
/// <param name="Files">Matched files, sorted ordinally for determinism.</param>
public sealed record ResolvedInput(long? Span, long? Version, IReadOnlyList<string> Files);

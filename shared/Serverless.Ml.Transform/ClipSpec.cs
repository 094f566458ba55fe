namespace Serverless.Ml.Transform;

/// <summary>Clipping bounds; a null bound is open.</summary>
/// <param name="Min">Lower bound.</param>
/// <param name="Max">Upper bound.</param>
public sealed record ClipSpec(double? Min = null, double? Max = null);

namespace Serverless.Ml.Transform;

/// <summary>Missing-value imputation of one feature.</summary>
/// <param name="Strategy">The strategy.</param>
/// <param name="Value">The constant for numeric features (strategy <c>constant</c>).</param>
/// <param name="Text">The constant for string features (strategy <c>constant</c>).</param>
public sealed record FillSpec(FillStrategy Strategy, double? Value = null, string? Text = null);

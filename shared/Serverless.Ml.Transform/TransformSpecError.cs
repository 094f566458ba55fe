namespace Serverless.Ml.Transform;

/// <summary>One problem of a spec against a table schema, naming the feature and the transform.</summary>
/// <param name="Feature">The feature (output name, or the label's column).</param>
/// <param name="Transform">The transform kind (or <c>label</c>, <c>fill</c>, <c>spec</c>).</param>
/// <param name="Message">What is wrong and what to do.</param>
public sealed record TransformSpecError(string Feature, string Transform, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"feature '{Feature}' ({Transform}): {Message}";
}

namespace Serverless.Ml.Data.Validation;

/// <summary>Options of <see cref="ExampleValidation"/>.</summary>
public sealed class ValidationOptions
{
    /// <summary>Fewest examples when the schema sets no <c>min_examples_count</c>. Default 1.</summary>
    public long MinExamples { get; set; } = 1;

    /// <summary>Unexpected values listed as examples in a description. Default 10.</summary>
    public int MaxExamples { get; set; } = 10;
}

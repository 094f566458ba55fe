namespace Serverless.Ml.Data.Schemas;

/// <summary>Allowed values of a text feature.</summary>
public sealed class StringDomain
{
    /// <summary>The values.</summary>
    public List<string> Value { get; set; } = [];
}

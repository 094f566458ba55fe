namespace Serverless.Ml.Data.Schemas;

/// <summary>Options of <see cref="SchemaInference"/>; defaults follow TFDV's <c>infer_schema</c>.</summary>
public sealed class SchemaInferenceOptions
{
    /// <summary>Text features with at most this many distinct values get a string domain. Default 100.</summary>
    public int MaxStringDomainSize { get; set; } = 100;

    /// <summary>Record observed min/max as int/float domains. Default false (TFDV's infer_feature_shape-like caution: ranges are too tight on one span).</summary>
    public bool InferNumericRanges { get; set; }
}

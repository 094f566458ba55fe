namespace Serverless.Ml.Data.Validation;

/// <summary>One anomaly, TFDV's <c>AnomalyInfo</c> reduced to what people read.</summary>
/// <param name="Feature">The feature, or null for dataset-level anomalies.</param>
/// <param name="Type">TFDV's anomaly type name, e.g. <c>SCHEMA_MISSING_COLUMN</c>.</param>
/// <param name="ShortDescription">One line.</param>
/// <param name="Description">The details, with examples where useful.</param>
public sealed record Anomaly(string? Feature, string Type, string ShortDescription, string Description);

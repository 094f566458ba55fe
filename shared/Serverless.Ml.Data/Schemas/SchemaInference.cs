using Serverless.Ml.Data.Statistics;

namespace Serverless.Ml.Data.Schemas;

/// <summary>
/// Infers a schema from statistics (TFX's SchemaGen): type per feature; required (min_fraction 1) when never
/// missing, else optional (min_count 1); value counts; shapes for tensors; string domains for features with few
/// distinct values; numeric ranges only on request; NaN disallowed for floats that had none.
/// </summary>
public static class SchemaInference
{
    /// <summary>Infers a schema from one dataset's statistics (usually the train split).</summary>
    public static DatasetSchema Infer(DatasetFeatureStatistics statistics, SchemaInferenceOptions? options = null, TableSchema? tableSchema = null)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        options ??= new SchemaInferenceOptions();
        var schema = new DatasetSchema();
        foreach (var f in statistics.Features)
        {
            var c = f.Common;
            var fs = new FeatureSchema
            {
                Name = f.Name,
                Type = f.Type,
                Presence = c.NumMissing == 0 && c.NumNonMissing > 0 ? new FeaturePresence { MinFraction = 1, MinCount = 1 } : new FeaturePresence { MinFraction = 0, MinCount = 1 },
                ValueCount = new ValueCountRange { Min = c.MinNumValues, Max = c.MaxNumValues },
            };
            var spec = tableSchema?.Columns.FirstOrDefault(s => s.Name == f.Name);
            if (spec is { Kind: ColumnKind.Float32Tensor }) fs.Shape = [.. spec.Shape];
            if (f.StringStats is { } ss && ss.Values is { } values && !ss.UniqueIsEstimate && values.Count <= options.MaxStringDomainSize && values.Count > 0)
                fs.StringDomain = new StringDomain { Value = values.Select(v => v.Value).Order(StringComparer.Ordinal).ToList() };
            if (f.NumStats is { } ns)
            {
                fs.DisallowNan = f.Type == FeatureType.FLOAT && ns.NumNan == 0;
                if (options.InferNumericRanges && ns.CommonStats.NumNonMissing > 0)
                {
                    if (f.Type == FeatureType.INT) fs.IntDomain = new IntDomain { Min = (long)ns.Min, Max = (long)ns.Max };
                    else fs.FloatDomain = new FloatDomain { Min = ns.Min, Max = ns.Max };
                }
            }
            schema.Feature.Add(fs);
        }
        return schema;
    }
}

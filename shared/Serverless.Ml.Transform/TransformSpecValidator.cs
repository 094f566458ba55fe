using Serverless.Ml.Data;

namespace Serverless.Ml.Transform;

/// <summary>Checks a spec against a schema without reading data.</summary>
public static class TransformSpecValidator
{
    /// <summary>The largest cross without hashing (product of component cardinalities).</summary>
    public const long MaxUnhashedCross = 1 << 20;

    /// <summary>
    /// Returns every problem of <paramref name="spec"/> against <paramref name="schema"/> (empty when valid), within
    /// <paramref name="limits"/> (<see cref="TransformSpecLimits.MaxFeatures"/>; default <see cref="TransformSpecLimits.Default"/>).
    /// </summary>
    public static IReadOnlyList<TransformSpecError> Validate(TransformSpec spec, TableSchema schema, TransformSpecLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(schema);
        limits ??= TransformSpecLimits.Default;
        var errors = new List<TransformSpecError>();
        if (spec.Features is null || spec.Features.Count == 0)
        {
            errors.Add(new("*", "spec", "the spec has no features"));
            return errors;
        }
        if (spec.Features.Count > limits.MaxFeatures)
        {
            // Checked first and alone: every further check and the analyzers cost memory per feature.
            errors.Add(new("*", "spec", $"the spec has {spec.Features.Count} features, more than {nameof(TransformSpecLimits.MaxFeatures)} ({limits.MaxFeatures}); raise {nameof(TransformSpecLimits)}.{nameof(TransformSpecLimits.MaxFeatures)} only when the data really has that many"));
            return errors;
        }
        if (spec.Features.Any(f => f is null))
        {
            // A spec built in code, or read from an empty list entry: name the entries and check nothing else.
            errors.AddRange(spec.Features.Select((f, i) => (f, i)).Where(x => x.f is null).Select(x => new TransformSpecError($"#{x.i + 1}", "spec", "the feature entry is empty")));
            return errors;
        }
        if (!spec.Features.Any(f => f.Output)) errors.Add(new("*", "spec", "no feature has output: true, so the output matrix would be empty"));
        var byName = new Dictionary<string, FeatureSpec>(StringComparer.Ordinal);
        foreach (var f in spec.Features)
        {
            var kind = KindName(f.Kind);
            void Err(string message) => errors.Add(new(f.Name ?? "?", kind, message));
            if (string.IsNullOrWhiteSpace(f.Name)) { Err("a feature needs a name"); continue; }
            if (!byName.TryAdd(f.Name, f)) Err("the name is used twice");
            if (f.Kind == FeatureKind.Cross)
            {
                if (f.Input is not null) Err("a cross reads its components, not an input column");
                continue;
            }
            var i = schema.IndexOf(f.Column);
            if (i < 0)
            {
                Err($"input column '{f.Column}' is not in the data (columns: {string.Join(", ", schema.Columns.Select(c => c.Name))})");
                continue;
            }
            var col = schema.Columns[i].Kind;
            var numeric = col is ColumnKind.Int64 or ColumnKind.Float64;
            switch (f.Kind)
            {
                case FeatureKind.Passthrough or FeatureKind.ZScore or FeatureKind.MinMax or FeatureKind.Bucketize:
                    if (!numeric) Err($"a numeric transform cannot read '{f.Column}', a {col} column (use vocabulary or hash for strings)");
                    break;
                case FeatureKind.Vocabulary or FeatureKind.Hash:
                    if (col is not (ColumnKind.String or ColumnKind.Int64)) Err($"needs a String or Int64 column; '{f.Column}' is {col}");
                    break;
                case FeatureKind.Image:
                    if (col != ColumnKind.Float32Tensor) Err($"needs a Float32Tensor column; '{f.Column}' is {col}");
                    if (!(f.ImageMax > f.ImageMin)) Err("imageMax must be greater than imageMin");
                    break;
            }
            CheckOptions(f, col, Err);
        }
        foreach (var f in spec.Features.Where(f => f.Kind == FeatureKind.Cross && !string.IsNullOrWhiteSpace(f.Name)))
        {
            void Err(string message) => errors.Add(new(f.Name, "cross", message));
            if (f.Components is not { Count: >= 2 }) { Err("a cross needs at least two components"); continue; }
            if (f.Components.Any(c => c is null)) { Err("a component is empty"); continue; }
            if (f.Components.Distinct(StringComparer.Ordinal).Count() != f.Components.Count) Err("a component is named twice");
            foreach (var c in f.Components)
            {
                if (!byName.TryGetValue(c, out var comp)) Err($"component '{c}' is not a feature of the spec");
                else if (spec.Features.TakeWhile(x => !ReferenceEquals(x, f)).All(x => x.Name != c)) Err($"component '{c}' must come before the cross in the spec");
                else if (comp.Kind is not (FeatureKind.Vocabulary or FeatureKind.Hash or FeatureKind.Bucketize))
                    Err($"component '{c}' is {KindName(comp.Kind)}; crosses take vocabulary, hash or bucketize features");
            }
            if (f.HashBuckets is <= 0) Err("hashBuckets must be positive");
        }
        if (spec.Label is { } label)
        {
            var i = schema.IndexOf(label.Input ?? "");
            if (i < 0) errors.Add(new(label.Input ?? "?", "label", $"label column '{label.Input}' is not in the data"));
            else
            {
                var col = schema.Columns[i].Kind;
                if (label.Kind == LabelKind.Classification && col is not (ColumnKind.String or ColumnKind.Int64))
                    errors.Add(new(label.Input!, "label", $"a classification label needs a String or Int64 column; it is {col}"));
                if (label.Kind == LabelKind.Regression && col is not (ColumnKind.Int64 or ColumnKind.Float64))
                    errors.Add(new(label.Input!, "label", $"a regression label needs a numeric column; it is {col}"));
            }
            foreach (var f in spec.Features.Where(f => f.Kind != FeatureKind.Cross && f.Column == label.Input))
                errors.Add(new(f.Name, KindName(f.Kind), $"reads the label column '{label.Input}': the serving graph must not need the label"));
        }
        return errors;
    }

    /// <summary>Throws <see cref="TransformSpecException"/> listing every problem, if any.</summary>
    public static void ThrowIfInvalid(TransformSpec spec, TableSchema schema, TransformSpecLimits? limits = null)
    {
        var errors = Validate(spec, schema, limits);
        if (errors.Count > 0) throw new TransformSpecException(errors);
    }

    internal static string KindName(FeatureKind kind) => kind switch
    {
        FeatureKind.ZScore => "z_score",
        FeatureKind.MinMax => "min_max",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static void CheckOptions(FeatureSpec f, ColumnKind col, Action<string> err)
    {
        var numericKind = f.Kind is FeatureKind.Passthrough or FeatureKind.ZScore or FeatureKind.MinMax or FeatureKind.Bucketize;
        var categorical = f.Kind is FeatureKind.Vocabulary or FeatureKind.Hash;
        if (!numericKind && (f.Clip is not null || f.Log1p)) err("clip and log1p apply to numeric kinds only");
        if (f.Kind != FeatureKind.Bucketize && f.NumBuckets is not null) err("numBuckets applies to bucketize only");
        if (f.Kind == FeatureKind.Bucketize && f.NumBuckets is not >= 2) err("bucketize needs numBuckets >= 2");
        if (f.Kind != FeatureKind.Vocabulary && (f.TopK is not null || f.FrequencyThreshold is not null || f.NumOovBuckets != 0))
            err("topK, frequencyThreshold and numOovBuckets apply to vocabulary only");
        if (f.TopK is <= 0) err("topK must be positive");
        if (f.FrequencyThreshold is < 0) err("frequencyThreshold must not be negative");
        if (f.NumOovBuckets < 0) err("numOovBuckets must not be negative");
        if (f.Kind == FeatureKind.Hash && f.HashBuckets is not > 0) err("hash needs hashBuckets > 0");
        if (f.Kind is not (FeatureKind.Hash or FeatureKind.Cross) && f.HashBuckets is not null) err("hashBuckets applies to hash and cross only");
        if (f.Clip is { Min: { } lo, Max: { } hi } && !(lo <= hi)) err("clip min must not exceed max");
        if (f.Fill is { } fill)
        {
            var isString = col == ColumnKind.String;
            if (f.Kind == FeatureKind.Image && fill.Strategy != FillStrategy.None) err("images cannot be filled (missing images become zeros)");
            if (isString && fill.Strategy is FillStrategy.Mean or FillStrategy.Median)
                err($"fill '{fill.Strategy.ToString().ToLowerInvariant()}' needs a numeric column; '{f.Column}' is String");
            if (fill.Strategy == FillStrategy.Constant)
            {
                if (isString && fill.Text is null) err("a constant fill of a string column needs 'text'");
                if (!isString && fill.Value is null) err("a constant fill of a numeric column needs 'value'");
                if (col == ColumnKind.Int64 && categorical && fill.Value is { } v && v != Math.Round(v)) err("a constant fill of an int64 category must be an integer");
            }
        }
    }
}

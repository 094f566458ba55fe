using Serverless.Ml.Data;

namespace Serverless.Ml.Transform;

/// <summary>
/// Turns merged analyzer states into frozen parameters. Analyzers see the filled values (TFT semantics): the fill
/// value's m copies are folded in here from the missing count, which is what lets one pass compute both the fill
/// (from raw values) and the scaler statistics (of filled, clipped, log1p'd values).
/// </summary>
internal static class TransformFinisher
{
    public static FittedTransform Finish(TransformSpec spec, TransformAccumulator acc)
    {
        var schema = acc.Schema;
        var fitted = new List<FittedFeature>();
        var byName = new Dictionary<string, FittedFeature>(StringComparer.Ordinal);
        var offset = 0;
        for (var i = 0; i < acc.Plans.Count; i++)
        {
            var plan = acc.Plans[i];
            var a = acc.Features[i];
            var s = plan.Spec;
            var f = s.Kind switch
            {
                FeatureKind.Vocabulary or FeatureKind.Hash when plan.ColumnKind == ColumnKind.String => StringCategorical(plan, a),
                FeatureKind.Vocabulary or FeatureKind.Hash => IntCategorical(plan, a),
                FeatureKind.Cross => Cross(s, byName),
                FeatureKind.Image => new FittedFeature { Spec = s, InputKind = ColumnKind.Float32Tensor, InputShape = schema.Columns[schema.IndexOf(s.Column)].Shape.ToArray() },
                _ => Numeric(plan, a),
            };
            var width = !s.Output ? 0
                : f.IsCategorical ? (s.Encode == CategoricalEncoding.OneHot ? checked((int)f.Cardinality) : 1)
                : s.Kind == FeatureKind.Image ? f.InputShape.Aggregate(1, (x, y) => checked(x * y))
                : 1;
            f = f with { Offset = s.Output ? offset : -1, Width = width };
            offset += width;
            fitted.Add(f);
            byName[s.Name] = f;
        }
        FittedLabel? label = null;
        if (spec.Label is { } ls)
        {
            var kind = schema.Columns[schema.IndexOf(ls.Input)].Kind;
            label = new FittedLabel { Spec = ls, InputKind = kind };
            if (ls.Kind == LabelKind.Classification && acc.Label is { } la)
            {
                label = kind == ColumnKind.String
                    ? label with { Classes = OrderStrings(la.Strings!).Select(kv => kv.Key).ToArray() }
                    : label with { IntClasses = OrderInts(la.Ints!).Select(kv => kv.Key).ToArray() };
            }
        }
        var rawInputs = spec.Features.Where(f => f.Kind != FeatureKind.Cross).Select(f => f.Column).Distinct(StringComparer.Ordinal)
            .Select(c => schema.Columns[schema.IndexOf(c)]).ToArray();
        return new FittedTransform(spec, fitted, label, rawInputs);
    }

    private static FittedFeature Numeric(FeaturePlan plan, FeatureAccumulator a)
    {
        var s = plan.Spec;
        var raw = a.Raw!;
        double? fill = plan.Fill switch
        {
            FillStrategy.Mean => raw.Count > 0 ? raw.Mean : 0,
            FillStrategy.Median => raw.Count > 0 ? raw.Sketch!.Quantile(0.5) : 0,
            FillStrategy.Mode => raw.Counts is { Count: > 0 } counts ? counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key : 0,
            FillStrategy.Constant => s.Fill!.Value!.Value,
            _ => null,
        };
        var stats = a.Post ?? raw;
        var c = fill is { } fv ? plan.Post(fv) : double.NaN;
        var extra = fill is not null && !double.IsNaN(c) ? a.Missing : 0;
        var f = new FittedFeature { Spec = s, InputKind = plan.ColumnKind, FillValue = fill };
        switch (s.Kind)
        {
            case FeatureKind.ZScore:
            {
                double n = stats.Count, mean = stats.Mean, m2 = stats.M2;
                if (extra > 0)
                {
                    var total = n + extra;
                    var delta = c - mean;
                    mean = n == 0 ? c : mean + delta * extra / total;
                    m2 += n == 0 ? 0 : delta * delta * (n * extra / total);
                    n = total;
                }
                var std = n > 0 ? Math.Sqrt(m2 / n) : 0;
                return f with { Center = n > 0 ? mean : 0, Scale = std > 0 && double.IsFinite(std) ? std : 1 };
            }
            case FeatureKind.MinMax:
            {
                double min = stats.Min, max = stats.Max;
                if (extra > 0) { min = Math.Min(min, c); max = Math.Max(max, c); }
                if (!(max >= min)) return f with { Center = 0, Scale = 1 };
                var range = max - min;
                return f with { Center = min, Scale = range > 0 && double.IsFinite(range) ? range : 1 };
            }
            case FeatureKind.Bucketize:
            {
                var buckets = s.NumBuckets!.Value;
                return f with { Boundaries = QuantileBoundaries(stats, extra > 0 ? (c, extra) : null, buckets), Cardinality = buckets };
            }
            default:
                return f;
        }
    }

    /// <summary>
    /// Boundaries at ranks i / buckets (i = 1..buckets-1): the lower quantile, i.e. the smallest value whose cumulative
    /// weight reaches i * N / buckets. Exact while the KLL sketch is exact (4,096 values), ~1.65% rank error beyond.
    /// </summary>
    internal static double[] QuantileBoundaries(NumericStats stats, (double Value, long Weight)? extra, int buckets)
    {
        var (values, weights) = stats.Sketch!.SortedItems();
        var items = values.Zip(weights).ToList();
        if (extra is { } e)
        {
            var at = items.FindIndex(p => p.First > e.Value);
            items.Insert(at < 0 ? items.Count : at, (e.Value, e.Weight));
        }
        var boundaries = new double[buckets - 1];
        if (items.Count == 0) return boundaries;
        double total = items.Sum(p => (double)p.Second);
        var j = 0;
        double cum = items[0].Second;
        for (var i = 1; i < buckets; i++)
        {
            var target = total * i / buckets;
            while (cum < target && j + 1 < items.Count) cum += items[++j].Second;
            boundaries[i - 1] = items[j].First;
        }
        return boundaries;
    }

    private static FittedFeature StringCategorical(FeaturePlan plan, FeatureAccumulator a)
    {
        var s = plan.Spec;
        var counts = new Dictionary<string, long>(a.Strings!, StringComparer.Ordinal);
        var fill = plan.Fill switch
        {
            FillStrategy.Mode => counts.Count > 0 ? OrderStrings(counts).First().Key : null,
            FillStrategy.Constant => s.Fill!.Text,
            _ => null,
        };
        if (fill is not null && a.Missing > 0) counts[fill] = counts.GetValueOrDefault(fill) + a.Missing;
        var table = new Dictionary<string, long>(StringComparer.Ordinal);
        long cardinality, defaultIndex;
        string[]? vocabulary = null;
        if (s.Kind == FeatureKind.Hash)
        {
            cardinality = s.HashBuckets!.Value;
            defaultIndex = 0;
        }
        else
        {
            vocabulary = Trim(OrderStrings(counts), s).Select(kv => kv.Key).ToArray();
            var oov = s.NumOovBuckets;
            if (vocabulary.Length == 0 && oov == 0)
                throw new InvalidOperationException($"feature '{s.Name}' (vocabulary): the vocabulary is empty after topK/frequencyThreshold; lower the threshold or add numOovBuckets");
            for (var i = 0; i < vocabulary.Length; i++) table[vocabulary[i]] = i;
            cardinality = vocabulary.Length + oov;
            defaultIndex = oov > 0 ? vocabulary.Length : -1;
        }
        var fitted = new FittedFeature
        {
            Spec = s, InputKind = ColumnKind.String, FillText = fill, Vocabulary = vocabulary, StringTable = table,
            Cardinality = cardinality, DefaultIndex = defaultIndex,
        };
        var missingIndex = fill is null ? defaultIndex : table.TryGetValue(fill, out var known) ? known : fitted.UnseenStringIndex(fill);
        table[""] = missingIndex; // "" is the serving graph's missing string
        return fitted with { MissingIndex = missingIndex };
    }

    private static FittedFeature IntCategorical(FeaturePlan plan, FeatureAccumulator a)
    {
        var s = plan.Spec;
        var counts = a.Ints is null ? [] : new Dictionary<long, long>(a.Ints);
        long? fill = plan.Fill switch
        {
            FillStrategy.Mode => counts.Count > 0 ? OrderInts(counts).First().Key : null,
            FillStrategy.Constant => (long)s.Fill!.Value!.Value,
            _ => null,
        };
        if (fill is { } fv && a.Missing > 0) counts[fv] = counts.GetValueOrDefault(fv) + a.Missing;
        var f = new FittedFeature { Spec = s, InputKind = ColumnKind.Int64, FillValue = fill };
        if (s.Kind == FeatureKind.Hash)
        {
            f = f with { Cardinality = s.HashBuckets!.Value, DefaultIndex = 0 };
        }
        else
        {
            var vocabulary = Trim(OrderInts(counts), s).Select(kv => kv.Key).ToArray();
            if (vocabulary.Length == 0 && s.NumOovBuckets == 0)
                throw new InvalidOperationException($"feature '{s.Name}' (vocabulary): the vocabulary is empty after topK/frequencyThreshold; lower the threshold or add numOovBuckets");
            f = f with { IntVocabulary = vocabulary, Cardinality = vocabulary.Length + s.NumOovBuckets, DefaultIndex = s.NumOovBuckets > 0 ? vocabulary.Length : -1 };
        }
        var missingIndex = fill is { } v
            ? FeatureMath.IntIndex(f, f.IntVocabulary is null ? null : FeatureMath.IntVocabularyIndex(f), v)
            : s.Kind == FeatureKind.Hash ? 0 : f.DefaultIndex;
        return f with { MissingIndex = missingIndex };
    }

    private static FittedFeature Cross(FeatureSpec s, Dictionary<string, FittedFeature> byName)
    {
        var cards = s.Components!.Select(c => byName.TryGetValue(c, out var f) ? f.Cardinality
            : throw new InvalidOperationException($"feature '{s.Name}' (cross): component '{c}' must come before the cross in the spec")).ToArray();
        long product;
        try
        {
            product = cards.Aggregate(1L, (x, y) => checked(x * y));
            if (product > 1L << 62) throw new OverflowException();
        }
        catch (OverflowException)
        {
            throw new InvalidOperationException($"feature '{s.Name}' (cross): the product of the component cardinalities overflows; use fewer or smaller components");
        }
        if (s.HashBuckets is null && product > TransformSpecValidator.MaxUnhashedCross)
            throw new InvalidOperationException($"feature '{s.Name}' (cross): {product} combinations; set hashBuckets (at most {TransformSpecValidator.MaxUnhashedCross} without hashing)");
        return new FittedFeature { Spec = s, InputKind = ColumnKind.Int64, Cardinality = s.HashBuckets ?? product };
    }

    private static IEnumerable<KeyValuePair<T, long>> Trim<T>(IEnumerable<KeyValuePair<T, long>> ordered, FeatureSpec s)
    {
        if (s.FrequencyThreshold is { } th) ordered = ordered.Where(kv => kv.Value >= th);
        if (s.TopK is { } k) ordered = ordered.Take(k);
        return ordered;
    }

    /// <summary>TFT's order: count descending, then reverse lexicographic UTF-8 bytes.</summary>
    internal static List<KeyValuePair<string, long>> OrderStrings(Dictionary<string, long> counts)
    {
        var items = counts.Select(kv => (kv, bytes: StableHash.Utf8(kv.Key))).ToList();
        items.Sort((a, b) => StableHash.CompareVocabulary(a.kv.Value, a.bytes, b.kv.Value, b.bytes));
        return items.Select(p => p.kv).ToList();
    }

    /// <summary>TFT's order for integers: count descending, then reverse lexicographic decimal text.</summary>
    internal static List<KeyValuePair<long, long>> OrderInts(Dictionary<long, long> counts)
    {
        var items = counts.Select(kv => (kv, bytes: StableHash.Utf8(kv.Key))).ToList();
        items.Sort((a, b) => StableHash.CompareVocabulary(a.kv.Value, a.bytes, b.kv.Value, b.bytes));
        return items.Select(p => p.kv).ToList();
    }
}

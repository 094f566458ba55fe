using System.Globalization;
using Serverless.Ml.Data.Schemas;
using Serverless.Ml.Data.Statistics;

namespace Serverless.Ml.Data.Validation;

/// <summary>
/// Checks statistics against a schema (TFX's ExampleValidator): missing / unexpected features, type mismatches
/// (including types that changed between shards), presence, value counts, string domains (listing unexpected
/// values), numeric ranges, NaNs, example count, drift against the previous span and skew against serving data.
/// Domain checks use the full value list when statistics carry it (up to <see cref="StatisticsOptions.MaxValuesInOutput"/>
/// distinct values), else the top values only, so rare unexpected values of very wide features can go unseen.
/// </summary>
public static class ExampleValidation
{
    /// <summary>Validates one dataset's statistics.</summary>
    public static Anomalies Validate(
        DatasetFeatureStatistics statistics,
        DatasetSchema schema,
        DatasetFeatureStatistics? previous = null,
        DatasetFeatureStatistics? serving = null,
        ValidationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        ArgumentNullException.ThrowIfNull(schema);
        options ??= new ValidationOptions();
        var result = new Anomalies { DatasetName = statistics.Name };
        var items = result.Items;
        var minExamples = schema.DatasetConstraints?.MinExamplesCount ?? options.MinExamples;
        if (statistics.NumExamples < minExamples)
            items.Add(new(null, AnomalyTypes.LowNumExamples, "Low num examples in dataset", $"The dataset has {statistics.NumExamples} examples, fewer than the expected minimum of {minExamples}."));

        foreach (var fs in schema.Feature)
        {
            var f = statistics.Find(fs.Name);
            if (f is null || f.Common.NumNonMissing == 0)
            {
                if (fs.Presence is { } p && (p.MinCount > 0 || p.MinFraction > 0))
                    items.Add(new(fs.Name, AnomalyTypes.MissingColumn, "Column dropped", $"The feature was present in fewer examples than expected: it is missing from the data, but the schema requires it (min_count {p.MinCount}, min_fraction {p.MinFraction})."));
                continue;
            }
            CheckFeature(f, fs, statistics.NumExamples, options, items);
            if (previous?.Find(fs.Name) is { } prev && fs.DriftComparator is { } drift)
                Compare(f, prev, drift, "drift", "previous span", items);
            if (serving?.Find(fs.Name) is { } serv && fs.SkewComparator is { } skew)
                Compare(f, serv, skew, "skew", "serving data", items);
        }
        foreach (var f in statistics.Features)
        {
            if (schema.Find(f.Name) is null && f.Common.NumNonMissing > 0)
                items.Add(new(f.Name, AnomalyTypes.NewColumn, "New column", $"New column '{f.Name}' ({f.Type}) is not in the schema."));
        }
        return result;
    }

    private static void CheckFeature(FeatureNameStatistics f, FeatureSchema fs, long examples, ValidationOptions o, List<Anomaly> items)
    {
        var c = f.Common;
        if (f.ConflictingTypes is { Count: > 0 } conflicts)
            items.Add(new(f.Name, AnomalyTypes.UnexpectedDataType, "Multiple types", $"The feature has values of types {string.Join(", ", conflicts.Prepend(f.Type))} in different shards or batches; the schema expects {fs.Type}."));
        if (f.StringStats is { } text)
        {
            // Before the type check: corrupt bytes are often why a number column became text.
            if (text.InvalidUtf8Count > 0)
                items.Add(new(f.Name, AnomalyTypes.InvalidUtf8, "Invalid UTF8 strings", $"{text.InvalidUtf8Count} values were not valid UTF-8 (read with U+FFFD in place of the invalid bytes)."));
            if (text.NulCount > 0)
                items.Add(new(f.Name, AnomalyTypes.NulCharacters, "NUL characters", $"{text.NulCount} values contain NUL characters (\\0), usually a corrupt or binary file."));
        }
        if (f.Type != fs.Type)
        {
            items.Add(new(f.Name, AnomalyTypes.UnexpectedDataType, "Unexpected data type", $"Expected data of type {fs.Type} but got {f.Type}."));
            return; // value checks of the wrong type would only add noise
        }
        if (fs.Presence is { } p)
        {
            var fraction = examples == 0 ? 0 : (double)c.NumNonMissing / examples;
            if (fraction < p.MinFraction)
                items.Add(new(f.Name, AnomalyTypes.LowFractionPresent, "Column dropped", $"The feature was present in {fraction.ToString("P2", CultureInfo.InvariantCulture)} of examples ({c.NumNonMissing} of {examples}), below the required {p.MinFraction.ToString("P2", CultureInfo.InvariantCulture)}."));
            if (c.NumNonMissing < p.MinCount)
                items.Add(new(f.Name, AnomalyTypes.LowNumberPresent, "Column dropped", $"The feature was present in {c.NumNonMissing} examples, fewer than the required {p.MinCount}."));
        }
        if (fs.ValueCount is { } vc)
        {
            if (c.MinNumValues < vc.Min)
                items.Add(new(f.Name, AnomalyTypes.LowNumberValues, "Missing values", $"Some examples have {c.MinNumValues} values, fewer than the expected {vc.Min}."));
            if (c.MaxNumValues > vc.Max)
                items.Add(new(f.Name, AnomalyTypes.HighNumberValues, "Superfluous values", $"Some examples have {c.MaxNumValues} values, more than the expected {vc.Max}."));
        }
        if (f.StringStats is { } ss && fs.StringDomain is { } domain)
        {
            var allowed = new HashSet<string>(domain.Value, StringComparer.Ordinal);
            var seen = ss.Values ?? ss.TopValues;
            var unexpected = seen.Where(v => !allowed.Contains(v.Value)).ToList();
            if (unexpected.Count > 0)
            {
                var total = unexpected.Sum(v => v.Frequency);
                var examplesText = string.Join(", ", unexpected.Take(o.MaxExamples).Select(v => $"'{Quote(v.Value)}' ({v.Frequency.ToString(CultureInfo.InvariantCulture)})"));
                var share = c.NumNonMissing == 0 ? 0 : total / c.NumNonMissing;
                items.Add(new(f.Name, AnomalyTypes.UnexpectedStringValues, "Unexpected string values",
                    $"Examples contain values missing from the schema: {examplesText}{(unexpected.Count > o.MaxExamples ? $" and {unexpected.Count - o.MaxExamples} more" : string.Empty)} ({share.ToString("P2", CultureInfo.InvariantCulture)} of values)."));
            }
        }
        if (f.NumStats is { } ns)
        {
            if (fs.IntDomain is { } id && f.Type == FeatureType.INT)
            {
                if (id.Min is { } min && ns.Min < min) items.Add(new(f.Name, AnomalyTypes.SmallInt, "Out-of-range values", $"Unexpectedly small value: {G(ns.Min)} < {min}."));
                if (id.Max is { } max && ns.Max > max) items.Add(new(f.Name, AnomalyTypes.BigInt, "Out-of-range values", $"Unexpectedly large value: {G(ns.Max)} > {max}."));
            }
            if (fs.FloatDomain is { } fd)
            {
                if (fd.Min is { } min && ns.Min < min) items.Add(new(f.Name, AnomalyTypes.SmallFloat, "Out-of-range values", $"Unexpectedly low value: {G(ns.Min)} < {G(min)}."));
                if (fd.Max is { } max && ns.Max > max) items.Add(new(f.Name, AnomalyTypes.BigFloat, "Out-of-range values", $"Unexpectedly high value: {G(ns.Max)} > {G(max)}."));
            }
            if (fs.DisallowNan && ns.NumNan > 0)
                items.Add(new(f.Name, AnomalyTypes.HasNan, "Invalid values", $"The feature has {ns.NumNan} NaN values; the schema disallows NaN."));
        }
    }

    /// <summary>At most 40 characters of a value, control characters escaped: descriptions quote a prefix, never a whole value.</summary>
    private static string Quote(string value)
    {
        var head = value.Length > 40 ? value[..40] : value;
        var sb = new System.Text.StringBuilder(head.Length);
        foreach (var ch in head) sb.Append(char.IsControl(ch) ? $"\\u{(int)ch:x4}" : ch.ToString());
        return value.Length > 40 ? sb + "..." : sb.ToString();
    }

    private static void Compare(FeatureNameStatistics current, FeatureNameStatistics other, FeatureComparator cmp, string kind, string otherName, List<Anomaly> items)
    {
        if (cmp.InfinityNormThreshold is { } lt && current.StringStats is { } a && other.StringStats is { } b)
        {
            var (dist, value) = LInfinity(a.Values ?? a.TopValues, a.CommonStats.NumNonMissing, b.Values ?? b.TopValues, b.CommonStats.NumNonMissing);
            if (dist > lt)
                items.Add(new(current.Name, AnomalyTypes.LInftyHigh, $"High L-infinity distance ({kind})",
                    $"The L-infinity distance between current and {otherName} is {G(dist)} (up to six significant digits), above the threshold {G(lt)}. The value with the greatest difference is '{Quote(value)}'."));
        }
        if (cmp.JensenShannonDivergenceThreshold is { } jt && current.NumStats is { Histograms.Count: > 0 } na && other.NumStats is { Histograms.Count: > 0 } nb)
        {
            var jsd = JensenShannon(na.Histograms[0], nb.Histograms[0]);
            if (jsd > jt)
                items.Add(new(current.Name, AnomalyTypes.JensenShannonHigh, $"High approximate Jensen-Shannon divergence ({kind})",
                    $"The approximate Jensen-Shannon divergence between current and {otherName} is {G(jsd)} (up to six significant digits), above the threshold {G(jt)}."));
        }
    }

    /// <summary>L-infinity distance between two normalized value distributions, and the value where it is reached.</summary>
    public static (double Distance, string Value) LInfinity(IReadOnlyList<ValueCount> a, double totalA, IReadOnlyList<ValueCount> b, double totalB)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var pa = a.ToDictionary(v => v.Value, v => totalA == 0 ? 0 : v.Frequency / totalA, StringComparer.Ordinal);
        var pb = b.ToDictionary(v => v.Value, v => totalB == 0 ? 0 : v.Frequency / totalB, StringComparer.Ordinal);
        var best = (Distance: 0.0, Value: string.Empty);
        foreach (var k in pa.Keys.Union(pb.Keys).Order(StringComparer.Ordinal))
        {
            var d = Math.Abs(pa.GetValueOrDefault(k) - pb.GetValueOrDefault(k));
            if (d > best.Distance) best = (d, k);
        }
        return best;
    }

    /// <summary>
    /// Jensen-Shannon divergence (base 2, in [0, 1]) between two histograms with possibly different edges: both are
    /// re-binned onto the union of their edges assuming uniform density within a bucket (point buckets stay points).
    /// </summary>
    public static double JensenShannon(Histogram a, Histogram b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var edges = a.Buckets.SelectMany(x => new[] { x.LowValue, x.HighValue }).Concat(b.Buckets.SelectMany(x => new[] { x.LowValue, x.HighValue }))
            .Where(double.IsFinite).Distinct().Order().ToArray();
        if (edges.Length == 0) return 0;
        var p = Rebin(a, edges);
        var q = Rebin(b, edges);
        double js = 0;
        for (var i = 0; i < p.Length; i++)
        {
            var m = (p[i] + q[i]) / 2;
            if (p[i] > 0) js += 0.5 * p[i] * Math.Log2(p[i] / m);
            if (q[i] > 0) js += 0.5 * q[i] * Math.Log2(q[i] / m);
        }
        return Math.Clamp(js, 0, 1);
    }

    private static double[] Rebin(Histogram h, double[] edges)
    {
        // Bins: one per interval between consecutive edges, plus one point bin per edge (for zero-width buckets).
        var intervals = Math.Max(0, edges.Length - 1);
        var mass = new double[intervals + edges.Length];
        foreach (var bucket in h.Buckets)
        {
            if (bucket.SampleCount <= 0) continue;
            if (bucket.HighValue <= bucket.LowValue || !double.IsFinite(bucket.HighValue - bucket.LowValue))
            {
                var k = Array.BinarySearch(edges, bucket.LowValue);
                mass[intervals + Math.Max(0, k < 0 ? ~k - 1 : k)] += bucket.SampleCount;
                continue;
            }
            var width = bucket.HighValue - bucket.LowValue;
            for (var i = 0; i < intervals; i++)
            {
                var overlap = Math.Min(bucket.HighValue, edges[i + 1]) - Math.Max(bucket.LowValue, edges[i]);
                if (overlap > 0) mass[i] += bucket.SampleCount * overlap / width;
            }
        }
        var total = mass.Sum();
        if (total > 0) for (var i = 0; i < mass.Length; i++) mass[i] /= total;
        return mass;
    }

    private static string G(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}

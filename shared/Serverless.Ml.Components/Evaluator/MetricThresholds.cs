using System.Globalization;
using System.Text.Json;

namespace Serverless.Ml.Components.Evaluator;

/// <summary>Which way a change threshold counts as better (TFMA's <c>MetricDirection</c>).</summary>
public enum MetricDirection
{
    /// <summary>Bigger values are better (accuracy, AUC).</summary>
    HigherIsBetter,

    /// <summary>Smaller values are better (losses, errors).</summary>
    LowerIsBetter,
}

/// <summary>TFMA's <c>GenericValueThreshold</c>: the value must lie in [LowerBound, UpperBound]; an unset bound is infinite.</summary>
/// <param name="LowerBound">Smallest allowed value, or null.</param>
/// <param name="UpperBound">Largest allowed value, or null.</param>
public sealed record ValueThreshold(double? LowerBound, double? UpperBound);

/// <summary>
/// TFMA's <c>GenericChangeThreshold</c> against the baseline: with diff = candidate - baseline and ratio = diff / baseline,
/// HIGHER_IS_BETTER passes when diff &gt;= Absolute and ratio &gt;= Relative; LOWER_IS_BETTER when diff &lt;= Absolute and
/// ratio &lt;= Relative. An unset bound does not constrain (TFMA's -inf / +inf defaults).
/// </summary>
/// <param name="Direction">Which way is better.</param>
/// <param name="Absolute">Bound on candidate - baseline, or null.</param>
/// <param name="Relative">Bound on (candidate - baseline) / baseline, or null.</param>
public sealed record ChangeThreshold(MetricDirection Direction, double? Absolute, double? Relative);

/// <summary>TFMA's <c>MetricThreshold</c>: a value threshold, a change threshold, or both, for one metric.</summary>
/// <param name="Metric">The metric name (see <see cref="MetricNames"/>).</param>
/// <param name="Value">The value threshold, or null.</param>
/// <param name="Change">The change threshold, or null.</param>
public sealed record MetricThreshold(string Metric, ValueThreshold? Value, ChangeThreshold? Change);

/// <summary>One check made for the blessing, with its outcome.</summary>
/// <param name="Metric">The metric.</param>
/// <param name="Kind"><c>value</c> or <c>change</c>.</param>
/// <param name="Passed">Whether it passed.</param>
/// <param name="Message">What was compared, e.g. <c>accuracy 0.62 &lt; lower_bound 0.9</c>.</param>
public sealed record ThresholdCheck(string Metric, string Kind, bool Passed, string Message);

/// <summary>The outcome of validating a candidate's metrics: blessed or not, and why.</summary>
/// <param name="Attempted">False when no thresholds are configured: no blessing was attempted (the model is not blessed).</param>
/// <param name="Blessed">True when every check passed (and at least one threshold was configured).</param>
/// <param name="Checks">Every check made, passing or failing.</param>
/// <param name="Notes">What was skipped and why (no thresholds, no baseline).</param>
public sealed record BlessingResult(bool Attempted, bool Blessed, IReadOnlyList<ThresholdCheck> Checks, IReadOnlyList<string> Notes)
{
    /// <summary>The failing checks.</summary>
    public IEnumerable<ThresholdCheck> Failures => Checks.Where(c => !c.Passed);
}

/// <summary>
/// Parses thresholds and validates metrics against them, as TFMA's metrics validator does for the overall slice:
/// every value threshold must hold; change thresholds are checked only when a baseline was evaluated (the first model
/// of a pipeline has none, so only value thresholds gate it).
/// </summary>
public static class MetricValidator
{
    /// <summary>
    /// Reads thresholds from JSON shaped like TFMA's config: <c>{"accuracy": {"value_threshold": {"lower_bound": 0.9},
    /// "change_threshold": {"direction": "HIGHER_IS_BETTER", "absolute": -1e-10}}}</c>. Bounds may be plain numbers or
    /// TFMA's <c>{"value": x}</c>. Empty text: no thresholds.
    /// </summary>
    /// <exception cref="ArgumentException">The JSON is malformed, names an unknown field or direction, or a threshold sets nothing.</exception>
    public static IReadOnlyList<MetricThreshold> Parse(string json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return [];
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"metric_thresholds is not valid JSON: {e.Message}", nameof(json), e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException("metric_thresholds must be a JSON object keyed by metric name", nameof(json));
            }

            var result = new List<MetricThreshold>();
            foreach (var metric in document.RootElement.EnumerateObject())
            {
                ValueThreshold? value = null;
                ChangeThreshold? change = null;
                foreach (var part in metric.Value.EnumerateObject())
                {
                    switch (part.Name)
                    {
                        case "value_threshold":
                            value = new ValueThreshold(Number(part.Value, "lower_bound", metric.Name), Number(part.Value, "upper_bound", metric.Name));
                            CheckFields(part.Value, metric.Name, "lower_bound", "upper_bound");
                            break;
                        case "change_threshold":
                            CheckFields(part.Value, metric.Name, "direction", "absolute", "relative");
                            var directionText = part.Value.TryGetProperty("direction", out var d) ? d.GetString() : null;
                            var direction = directionText?.ToUpperInvariant() switch
                            {
                                "HIGHER_IS_BETTER" => MetricDirection.HigherIsBetter,
                                "LOWER_IS_BETTER" => MetricDirection.LowerIsBetter,
                                _ => throw new ArgumentException($"metric_thresholds.{metric.Name}.change_threshold.direction must be HIGHER_IS_BETTER or LOWER_IS_BETTER (got '{directionText}')", nameof(json)),
                            };
                            change = new ChangeThreshold(direction, Number(part.Value, "absolute", metric.Name), Number(part.Value, "relative", metric.Name));
                            break;
                        default:
                            throw new ArgumentException($"metric_thresholds.{metric.Name}: unknown field '{part.Name}' (expected value_threshold, change_threshold)", nameof(json));
                    }
                }

                if (value is null && change is null)
                {
                    throw new ArgumentException($"metric_thresholds.{metric.Name} sets neither value_threshold nor change_threshold", nameof(json));
                }

                result.Add(new MetricThreshold(metric.Name, value, change));
            }

            return result;
        }
    }

    /// <summary>Validates candidate metrics (and baseline metrics when a baseline exists) against the thresholds.</summary>
    public static BlessingResult Validate(
        IReadOnlyList<MetricThreshold> thresholds, IReadOnlyDictionary<string, double> candidate, IReadOnlyDictionary<string, double>? baseline)
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        ArgumentNullException.ThrowIfNull(candidate);
        var notes = new List<string>();
        if (thresholds.Count == 0)
        {
            notes.Add("no thresholds configured: no blessing attempted, the model is not blessed");
            return new BlessingResult(false, false, [], notes);
        }

        if (baseline is null && thresholds.Any(t => t.Change is not null))
        {
            notes.Add("no baseline (no blessed model of this pipeline yet): change thresholds skipped, value thresholds applied");
        }

        var checks = new List<ThresholdCheck>();
        foreach (var t in thresholds)
        {
            if (!candidate.TryGetValue(t.Metric, out var v) || double.IsNaN(v))
            {
                checks.Add(new ThresholdCheck(t.Metric, "value", false, $"{t.Metric} was not computed (known: {string.Join(", ", candidate.Keys.Where(k => !k.Contains('/', StringComparison.Ordinal)))})"));
                continue;
            }

            if (t.Value is { } value)
            {
                var lower = value.LowerBound ?? double.NegativeInfinity;
                var upper = value.UpperBound ?? double.PositiveInfinity;
                var passed = v >= lower && v <= upper;
                var message = passed
                    ? $"{t.Metric} {F(v)} within [{F(lower)}, {F(upper)}]"
                    : v < lower ? $"{t.Metric} {F(v)} < lower_bound {F(lower)}" : $"{t.Metric} {F(v)} > upper_bound {F(upper)}";
                checks.Add(new ThresholdCheck(t.Metric, "value", passed, message));
            }

            if (t.Change is { } change && baseline is not null)
            {
                checks.Add(CheckChange(t.Metric, change, v, baseline.TryGetValue(t.Metric, out var b) ? b : double.NaN));
            }
        }

        return new BlessingResult(true, checks.All(c => c.Passed), checks, notes);
    }

    private static ThresholdCheck CheckChange(string metric, ChangeThreshold change, double candidate, double baseline)
    {
        if (double.IsNaN(baseline))
        {
            return new ThresholdCheck(metric, "change", false, $"{metric} of the baseline was not computed");
        }

        var diff = candidate - baseline;
        var higher = change.Direction == MetricDirection.HigherIsBetter;
        var problems = new List<string>();
        if (change.Absolute is { } absolute && (higher ? diff < absolute : diff > absolute))
        {
            problems.Add($"change {F(diff)} {(higher ? "<" : ">")} absolute {F(absolute)}");
        }

        if (change.Relative is { } relative)
        {
            // TFMA: ratio = diff / baseline; a zero baseline has no defined ratio, so the check cannot pass.
            var ratio = Math.Abs(baseline) < 1e-12 ? double.NaN : diff / baseline;
            if (double.IsNaN(ratio) || (higher ? ratio < relative : ratio > relative))
            {
                problems.Add($"relative change {F(ratio)} {(higher ? "<" : ">")} relative {F(relative)}");
            }
        }

        var direction = higher ? "HIGHER_IS_BETTER" : "LOWER_IS_BETTER";
        var what = $"{metric} {F(candidate)} vs baseline {F(baseline)} ({direction})";
        return problems.Count == 0
            ? new ThresholdCheck(metric, "change", true, what)
            : new ThresholdCheck(metric, "change", false, $"{what}: {string.Join("; ", problems)}");
    }

    private static string F(double value) =>
        double.IsInfinity(value) ? (value > 0 ? "inf" : "-inf") : value.ToString("G6", CultureInfo.InvariantCulture);

    private static double? Number(JsonElement parent, string name, string metric)
    {
        if (!parent.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("value", out var inner))
        {
            e = inner;
        }

        return e.ValueKind == JsonValueKind.Number
            ? e.GetDouble()
            : throw new ArgumentException($"metric_thresholds.{metric}: {name} must be a number or {{\"value\": number}}");
    }

    private static void CheckFields(JsonElement element, string metric, params string[] known)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"metric_thresholds.{metric}: thresholds must be objects");
        }

        foreach (var p in element.EnumerateObject())
        {
            if (Array.IndexOf(known, p.Name) < 0)
            {
                throw new ArgumentException($"metric_thresholds.{metric}: unknown field '{p.Name}' (expected {string.Join(", ", known)})");
            }
        }
    }
}

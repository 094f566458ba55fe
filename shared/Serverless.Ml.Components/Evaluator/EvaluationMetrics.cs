using System.Globalization;

namespace Serverless.Ml.Components.Evaluator;

/// <summary>The metric names the Evaluator writes and thresholds can name (TFMA's where TFMA has a short one).</summary>
public static class MetricNames
{
    /// <summary>Examples evaluated (TFMA's <c>example_count</c>).</summary>
    public const string ExampleCount = "example_count";

    /// <summary>Fraction of examples whose arg-max class equals the label.</summary>
    public const string Accuracy = "accuracy";

    /// <summary>Mean negative log-likelihood of the true class (probabilities clipped to [1e-15, 1]).</summary>
    public const string LogLoss = "log_loss";

    /// <summary>Macro average of the one-vs-rest ROC AUCs of the classes that have positives and negatives.</summary>
    public const string Auc = "auc";

    /// <summary>Unweighted mean of the per class precisions.</summary>
    public const string MacroPrecision = "macro_precision";

    /// <summary>Unweighted mean of the per class recalls.</summary>
    public const string MacroRecall = "macro_recall";

    /// <summary>Unweighted mean of the per class F1 scores.</summary>
    public const string MacroF1 = "macro_f1";

    /// <summary>Support-weighted mean of the per class precisions.</summary>
    public const string WeightedPrecision = "weighted_precision";

    /// <summary>Support-weighted mean of the per class recalls.</summary>
    public const string WeightedRecall = "weighted_recall";

    /// <summary>Support-weighted mean of the per class F1 scores.</summary>
    public const string WeightedF1 = "weighted_f1";

    /// <summary>Mean squared error.</summary>
    public const string Mse = "mse";

    /// <summary>Root of <see cref="Mse"/>.</summary>
    public const string Rmse = "rmse";

    /// <summary>Mean absolute error.</summary>
    public const string Mae = "mae";

    /// <summary>Coefficient of determination, 1 - SS_res / SS_tot.</summary>
    public const string R2 = "r2";

    /// <summary>Per class metric name, e.g. <c>precision/Adelie</c>.</summary>
    public static string PerClass(string metric, string className) => $"{metric}/{className}";
}

/// <summary>One row of the calibration table: predictions whose probability fell in [Lower, Upper).</summary>
/// <param name="Lower">Bucket's lower edge.</param>
/// <param name="Upper">Bucket's upper edge.</param>
/// <param name="Count">(example, class) pairs in the bucket.</param>
/// <param name="MeanPredicted">Mean predicted probability in the bucket.</param>
/// <param name="ObservedRate">Fraction of those pairs whose class is the label.</param>
public sealed record CalibrationBucket(double Lower, double Upper, long Count, double MeanPredicted, double ObservedRate);

/// <summary>A point of a one-vs-rest ROC curve.</summary>
/// <param name="FalsePositiveRate">FPR at the threshold.</param>
/// <param name="TruePositiveRate">TPR at the threshold.</param>
public readonly record struct RocPoint(double FalsePositiveRate, double TruePositiveRate);

/// <summary>The metrics of one slice (or of all examples): scalar metrics by name plus the tables the report draws.</summary>
public sealed record SliceMetrics
{
    /// <summary>The slice, e.g. <c>island=Biscoe</c> or <c>island=Biscoe,sex=male</c>; <c>Overall</c> for all examples.</summary>
    public required string Slice { get; init; }

    /// <summary>Examples in the slice.</summary>
    public required long ExampleCount { get; init; }

    /// <summary>True when the slice had fewer examples than the minimum size: no metrics were computed.</summary>
    public bool BelowMinimumSize { get; init; }

    /// <summary>Scalar metrics by name (see <see cref="MetricNames"/>); NaN where undefined (e.g. AUC of one class).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>Confusion matrix [label][predicted] (classification).</summary>
    public IReadOnlyList<IReadOnlyList<long>>? ConfusionMatrix { get; init; }

    /// <summary>Calibration table (classification).</summary>
    public IReadOnlyList<CalibrationBucket>? Calibration { get; init; }

    /// <summary>One-vs-rest ROC curves by class name (classification, overall slice only).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<RocPoint>>? RocCurves { get; init; }
}

/// <summary>
/// The metric computations, on plain arrays so they can be checked against independent computations. All are exact
/// (no sketches): the eval split fits in memory as one probability per (example, class).
/// </summary>
public static class EvaluationMetrics
{
    /// <summary>Probabilities below this are clipped for the log loss, as scikit-learn does.</summary>
    public const double LogLossEpsilon = 1e-15;

    /// <summary>
    /// Classification metrics of <paramref name="labels"/> (class indices, -1 = unknown label, counted as wrong) against
    /// row-major <paramref name="probabilities"/> [n, classes.Count].
    /// </summary>
    public static SliceMetrics Classification(
        string slice, IReadOnlyList<int> labels, ReadOnlySpan<float> probabilities, IReadOnlyList<string> classes,
        int calibrationBuckets = 10, bool withCurves = false)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classes);
        var k = classes.Count;
        var n = labels.Count;
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (probabilities.Length != n * k)
        {
            throw new ArgumentException($"expected {n}x{k} probabilities, got {probabilities.Length}", nameof(probabilities));
        }

        var confusion = new long[k, k];
        long correct = 0, unknown = 0;
        double logLoss = 0;
        for (var i = 0; i < n; i++)
        {
            var row = probabilities.Slice(i * k, k);
            var predicted = ArgMax(row);
            var label = labels[i];
            if (label < 0 || label >= k)
            {
                unknown++;
                logLoss += -Math.Log(LogLossEpsilon);
                continue;
            }

            confusion[label, predicted]++;
            if (predicted == label)
            {
                correct++;
            }

            logLoss += -Math.Log(Math.Clamp((double)row[label], LogLossEpsilon, 1.0));
        }

        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            [MetricNames.ExampleCount] = n,
            [MetricNames.Accuracy] = n == 0 ? double.NaN : (double)correct / n,
            [MetricNames.LogLoss] = n == 0 ? double.NaN : logLoss / n,
        };

        double macroP = 0, macroR = 0, macroF = 0, wP = 0, wR = 0, wF = 0;
        long supportTotal = 0;
        var aucs = new List<double>();
        var curves = withCurves ? new Dictionary<string, IReadOnlyList<RocPoint>>(StringComparer.Ordinal) : null;
        for (var c = 0; c < k; c++)
        {
            long tp = confusion[c, c], fp = 0, fn = 0;
            for (var o = 0; o < k; o++)
            {
                if (o != c)
                {
                    fp += confusion[o, c];
                    fn += confusion[c, o];
                }
            }

            var support = tp + fn;
            // scikit-learn's zero_division=0: an undefined precision/recall counts as 0.
            var precision = tp + fp == 0 ? 0 : (double)tp / (tp + fp);
            var recall = support == 0 ? 0 : (double)tp / support;
            var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            metrics[MetricNames.PerClass("precision", classes[c])] = precision;
            metrics[MetricNames.PerClass("recall", classes[c])] = recall;
            metrics[MetricNames.PerClass("f1", classes[c])] = f1;
            macroP += precision;
            macroR += recall;
            macroF += f1;
            wP += precision * support;
            wR += recall * support;
            wF += f1 * support;
            supportTotal += support;

            var scores = new double[n];
            var positive = new bool[n];
            for (var i = 0; i < n; i++)
            {
                scores[i] = probabilities[(i * k) + c];
                positive[i] = labels[i] == c;
            }

            var auc = RocAuc(scores, positive);
            metrics[MetricNames.PerClass("auc", classes[c])] = auc;
            if (!double.IsNaN(auc))
            {
                aucs.Add(auc);
            }

            if (curves is not null)
            {
                curves[classes[c]] = RocCurve(scores, positive);
            }
        }

        metrics[MetricNames.MacroPrecision] = macroP / k;
        metrics[MetricNames.MacroRecall] = macroR / k;
        metrics[MetricNames.MacroF1] = macroF / k;
        metrics[MetricNames.WeightedPrecision] = supportTotal == 0 ? double.NaN : wP / supportTotal;
        metrics[MetricNames.WeightedRecall] = supportTotal == 0 ? double.NaN : wR / supportTotal;
        metrics[MetricNames.WeightedF1] = supportTotal == 0 ? double.NaN : wF / supportTotal;
        metrics[MetricNames.Auc] = aucs.Count == 0 ? double.NaN : aucs.Average();
        if (unknown > 0)
        {
            metrics["unknown_label_count"] = unknown;
        }

        var matrix = new List<IReadOnlyList<long>>(k);
        for (var r = 0; r < k; r++)
        {
            var line = new long[k];
            for (var c = 0; c < k; c++)
            {
                line[c] = confusion[r, c];
            }

            matrix.Add(line);
        }

        return new SliceMetrics
        {
            Slice = slice,
            ExampleCount = n,
            Metrics = metrics,
            ConfusionMatrix = matrix,
            Calibration = Calibration(labels, probabilities, k, calibrationBuckets),
            RocCurves = curves,
        };
    }

    /// <summary>Regression metrics of <paramref name="predictions"/> against <paramref name="labels"/>.</summary>
    public static SliceMetrics Regression(string slice, IReadOnlyList<double> labels, IReadOnlyList<double> predictions)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(predictions);
        if (labels.Count != predictions.Count)
        {
            throw new ArgumentException($"{labels.Count} labels but {predictions.Count} predictions", nameof(predictions));
        }

        var n = labels.Count;
        double se = 0, ae = 0, mean = n == 0 ? double.NaN : labels.Average(), tot = 0;
        for (var i = 0; i < n; i++)
        {
            var e = predictions[i] - labels[i];
            se += e * e;
            ae += Math.Abs(e);
            tot += (labels[i] - mean) * (labels[i] - mean);
        }

        var mse = n == 0 ? double.NaN : se / n;
        return new SliceMetrics
        {
            Slice = slice,
            ExampleCount = n,
            Metrics = new Dictionary<string, double>(StringComparer.Ordinal)
            {
                [MetricNames.ExampleCount] = n,
                [MetricNames.Mse] = mse,
                [MetricNames.Rmse] = Math.Sqrt(mse),
                [MetricNames.Mae] = n == 0 ? double.NaN : ae / n,
                [MetricNames.R2] = tot == 0 ? double.NaN : 1 - (se / tot),
            },
        };
    }

    /// <summary>
    /// ROC AUC as the Mann-Whitney statistic: the probability that a random positive scores above a random negative,
    /// ties counting one half (average ranks). NaN when either class is absent.
    /// </summary>
    public static double RocAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(positive);
        var n = scores.Count;
        var order = Enumerable.Range(0, n).OrderBy(i => scores[i]).ToArray();
        double rankSum = 0;
        long positives = 0;
        for (var start = 0; start < n;)
        {
            var end = start;
            while (end + 1 < n && scores[order[end + 1]] == scores[order[start]])
            {
                end++;
            }

            var averageRank = ((start + end) / 2.0) + 1;
            for (var j = start; j <= end; j++)
            {
                if (positive[order[j]])
                {
                    rankSum += averageRank;
                    positives++;
                }
            }

            start = end + 1;
        }

        var negatives = n - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }

        return (rankSum - (positives * (positives + 1) / 2.0)) / ((double)positives * negatives);
    }

    /// <summary>The ROC curve (one point per distinct score, from (0,0) to (1,1)).</summary>
    public static IReadOnlyList<RocPoint> RocCurve(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(positive);
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        long p = positive.Count(x => x), q = positive.Count - p;
        var points = new List<RocPoint> { new(0, 0) };
        if (p == 0 || q == 0)
        {
            return points;
        }

        long tp = 0, fp = 0;
        for (var j = 0; j < order.Length; j++)
        {
            if (positive[order[j]])
            {
                tp++;
            }
            else
            {
                fp++;
            }

            if (j + 1 == order.Length || scores[order[j + 1]] != scores[order[j]])
            {
                points.Add(new RocPoint((double)fp / q, (double)tp / p));
            }
        }

        return points;
    }

    /// <summary>Formats a metric value for tables and messages (invariant culture, 4 significant decimals).</summary>
    public static string Format(double value) =>
        double.IsNaN(value) ? "n/a" : value.ToString(Math.Abs(value) >= 1000 ? "0.#" : "0.####", CultureInfo.InvariantCulture);

    private static List<CalibrationBucket> Calibration(IReadOnlyList<int> labels, ReadOnlySpan<float> probabilities, int k, int buckets)
    {
        var count = new long[buckets];
        var sum = new double[buckets];
        var hits = new long[buckets];
        for (var i = 0; i < labels.Count; i++)
        {
            for (var c = 0; c < k; c++)
            {
                double p = probabilities[(i * k) + c];
                var b = Math.Clamp((int)(p * buckets), 0, buckets - 1);
                count[b]++;
                sum[b] += p;
                if (labels[i] == c)
                {
                    hits[b]++;
                }
            }
        }

        return Enumerable.Range(0, buckets)
            .Select(b => new CalibrationBucket((double)b / buckets, (double)(b + 1) / buckets, count[b],
                count[b] == 0 ? double.NaN : sum[b] / count[b], count[b] == 0 ? double.NaN : (double)hits[b] / count[b]))
            .ToList();
    }

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        var best = 0;
        for (var c = 1; c < row.Length; c++)
        {
            if (row[c] > row[best])
            {
                best = c;
            }
        }

        return best;
    }
}

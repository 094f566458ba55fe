using Serverless.Ml.Components.Evaluator;

namespace Serverless.Ml.Shipping.Tests;

public sealed class MetricsTests
{
    private static readonly string[] Classes = ["a", "b", "c"];

    [Fact]
    public void Classification_SmallExample_MatchesHandComputedValues()
    {
        // labels a a b b c c ; argmax predictions a b b b c a
        int[] labels = [0, 0, 1, 1, 2, 2];
        float[] p =
        [
            0.7f, 0.2f, 0.1f,
            0.3f, 0.6f, 0.1f,
            0.1f, 0.8f, 0.1f,
            0.2f, 0.5f, 0.3f,
            0.1f, 0.1f, 0.8f,
            0.5f, 0.1f, 0.4f,
        ];
        var m = EvaluationMetrics.Classification("Overall", labels, p, Classes).Metrics;

        Assert.Equal(6, m[MetricNames.ExampleCount]);
        Assert.Equal(4.0 / 6, m[MetricNames.Accuracy], 12);
        // a: tp1 fp1 fn1 -> P .5 R .5 ; b: tp2 fp1 fn0 -> P 2/3 R 1 ; c: tp1 fp0 fn1 -> P 1 R .5
        Assert.Equal(0.5, m["precision/a"], 12);
        Assert.Equal(2.0 / 3, m["precision/b"], 12);
        Assert.Equal(1.0, m["recall/b"], 12);
        Assert.Equal(0.8, m["f1/b"], 12);
        Assert.Equal((0.5 + (2.0 / 3) + 1) / 3, m[MetricNames.MacroPrecision], 12);
        Assert.Equal((0.5 + 1 + 0.5) / 3, m[MetricNames.MacroRecall], 12);
        Assert.Equal((0.5 + 0.8 + (2.0 / 3)) / 3, m[MetricNames.MacroF1], 12); // all supports equal: weighted = macro
        Assert.Equal(m[MetricNames.MacroF1], m[MetricNames.WeightedF1], 12);
        var logLoss = -(Math.Log(0.7f) + Math.Log(0.3f) + Math.Log(0.8f) + Math.Log(0.5f) + Math.Log(0.8f) + Math.Log(0.4f)) / 6;
        Assert.Equal(logLoss, m[MetricNames.LogLoss], 6);
        // AUC of class a: positives score .7 .3, negatives .1 .2 .1 .5 -> pairs won: .7 beats 4, .3 beats 3 -> 7/8
        Assert.Equal(7.0 / 8, m["auc/a"], 12);
    }

    [Fact]
    public void Classification_ConfusionMatrixAndCalibration_CountEveryExample()
    {
        int[] labels = [0, 1, 1, 2];
        float[] p = [0.9f, 0.05f, 0.05f, 0.1f, 0.85f, 0.05f, 0.6f, 0.3f, 0.1f, 0.2f, 0.2f, 0.6f];
        var s = EvaluationMetrics.Classification("Overall", labels, p, Classes, calibrationBuckets: 10, withCurves: true);

        Assert.Equal([1L, 0, 0], s.ConfusionMatrix![0]);
        Assert.Equal([1L, 1, 0], s.ConfusionMatrix![1]);
        Assert.Equal([0L, 0, 1], s.ConfusionMatrix![2]);
        Assert.Equal(12, s.Calibration!.Sum(b => b.Count));
        Assert.Equal(2, s.Calibration![8].Count); // 0.9 (a float just below 0.9) and 0.85, both the true class
        Assert.Equal(1.0, s.Calibration![8].ObservedRate);
        Assert.Equal(3, s.RocCurves!.Count);
        Assert.Equal(new RocPoint(1, 1), s.RocCurves["b"][^1]);
    }

    [Fact]
    public void RocAuc_RandomScores_EqualsPairwiseCount()
    {
        var random = new Random(7);
        var scores = Enumerable.Range(0, 300).Select(_ => Math.Round(random.NextDouble(), 1)).ToArray(); // many ties
        var positive = scores.Select(s => random.NextDouble() < 0.3 + (s / 2)).ToArray();
        double wins = 0, pairs = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            for (var j = 0; j < scores.Length; j++)
            {
                if (positive[i] && !positive[j])
                {
                    pairs++;
                    wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
                }
            }
        }

        Assert.Equal(wins / pairs, EvaluationMetrics.RocAuc(scores, positive), 12);
    }

    [Fact]
    public void RocAuc_OneClassOnly_IsNaN()
    {
        Assert.True(double.IsNaN(EvaluationMetrics.RocAuc([0.1, 0.9], [true, true])));
    }

    [Fact]
    public void Regression_KnownValues_MatchHandComputed()
    {
        double[] y = [1, 2, 3, 4];
        double[] yhat = [1.5, 2, 2, 5];
        var m = EvaluationMetrics.Regression("Overall", y, yhat).Metrics;

        Assert.Equal((0.25 + 0 + 1 + 1) / 4, m[MetricNames.Mse], 12);
        Assert.Equal(Math.Sqrt(2.25 / 4), m[MetricNames.Rmse], 12);
        Assert.Equal((0.5 + 0 + 1 + 1) / 4, m[MetricNames.Mae], 12);
        Assert.Equal(1 - (2.25 / 5.0), m[MetricNames.R2], 12); // SS_tot around mean 2.5 = 5
    }
}

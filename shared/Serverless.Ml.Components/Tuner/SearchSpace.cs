using System.Globalization;
using Serverless.Ml.Components.Trainer;

namespace Serverless.Ml.Components.Tuner;

/// <summary>
/// The declared search space: per tuned value either a range <c>min:max</c> (learning rate sampled log-uniformly,
/// dropout uniformly), a choice list <c>a|b|c</c> (hidden sizes <c>16|32,16|64,32</c>), a single fixed value, or empty
/// (not tuned: the Trainer keeps its parameter). Sampling is a pure function of the seed.
/// </summary>
public sealed record SearchSpace
{
    /// <summary>Learning-rate range or choices.</summary>
    public Dimension? LearningRate { get; init; }

    /// <summary>Hidden-size choices (each a comma list).</summary>
    public IReadOnlyList<int[]>? HiddenSizes { get; init; }

    /// <summary>Dropout range or choices.</summary>
    public Dimension? Dropout { get; init; }

    /// <summary>Batch-size choices.</summary>
    public IReadOnlyList<int>? BatchSize { get; init; }

    /// <summary>Parses the Tuner's parameters.</summary>
    /// <exception cref="ArgumentException">A malformed value, naming the parameter.</exception>
    public static SearchSpace Parse(string learningRate, string hiddenSizes, string dropout, string batchSize) => new()
    {
        LearningRate = Dimension.Parse(learningRate, "learning_rate", logScale: true),
        HiddenSizes = string.IsNullOrWhiteSpace(hiddenSizes) ? null : hiddenSizes.Split('|', StringSplitOptions.TrimEntries).Select(h => ModelSettings.ParseInts(h, "hidden_sizes")).ToList(),
        Dropout = Dimension.Parse(dropout, "dropout", logScale: false),
        BatchSize = string.IsNullOrWhiteSpace(batchSize) ? null : batchSize.Split('|', StringSplitOptions.TrimEntries).Select(b => ModelSettings.ParseInts(b, "batch_size").Single()).ToList(),
    };

    /// <summary>One random point of the space.</summary>
    public HyperParameterValues Sample(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return new HyperParameterValues(
            LearningRate?.Sample(random),
            HiddenSizes is { Count: > 0 } h ? h[random.Next(h.Count)] : null,
            Dropout?.Sample(random),
            BatchSize is { Count: > 0 } b ? b[random.Next(b.Count)] : null);
    }

    /// <summary>A numeric dimension: a range (optionally log-scaled) or a list of choices.</summary>
    /// <param name="Min">Range start (ranges only).</param>
    /// <param name="Max">Range end (ranges only).</param>
    /// <param name="Choices">The values to pick from, or null for a range.</param>
    /// <param name="LogScale">Sample the range uniformly in log space.</param>
    public sealed record Dimension(double Min, double Max, IReadOnlyList<double>? Choices, bool LogScale)
    {
        /// <summary>Parses <c>min:max</c>, <c>a|b|c</c> or one number; empty gives null.</summary>
        public static Dimension? Parse(string text, string parameter, bool logScale)
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                return null;
            }

            static double Number(string s, string parameter) =>
                double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
                    ? v
                    : throw new ArgumentException($"parameter '{parameter}': '{s}' is not a number (expected min:max, a|b|c or one value)");

            if (text.Contains(':', StringComparison.Ordinal))
            {
                var parts = text.Split(':');
                var (min, max) = (Number(parts[0], parameter), Number(parts[^1], parameter));
                if (parts.Length != 2 || min > max || (logScale && min <= 0))
                {
                    throw new ArgumentException($"parameter '{parameter}': '{text}' is not a range min:max with min <= max{(logScale ? " and min > 0" : string.Empty)}");
                }

                return new Dimension(min, max, null, logScale);
            }

            return new Dimension(0, 0, text.Split('|').Select(s => Number(s, parameter)).ToList(), logScale);
        }

        /// <summary>One value.</summary>
        public double Sample(Random random)
        {
            ArgumentNullException.ThrowIfNull(random);
            if (Choices is { Count: > 0 } c)
            {
                return c[random.Next(c.Count)];
            }

            var u = random.NextDouble();
            return LogScale ? Math.Exp(Math.Log(Min) + (u * (Math.Log(Max) - Math.Log(Min)))) : Min + (u * (Max - Min));
        }
    }
}

/// <summary>
/// Hyperband's schedule (Li et al. 2018): brackets s = s_max..0 of successive halving, bracket s starting
/// n = ceil((s_max + 1) / (s + 1) * eta^s) configurations at r = R * eta^-s epochs and keeping the best 1/eta at eta
/// times the budget each rung. Trials of a rung train from scratch at the rung's budget (no warm start).
/// </summary>
public static class Hyperband
{
    /// <summary>The brackets for a maximum budget of <paramref name="maxEpochs"/> and reduction factor <paramref name="eta"/>.</summary>
    /// <returns>Per bracket: the number of starting configurations and the rung budgets (epochs), first to last.</returns>
    public static IReadOnlyList<(int Configurations, IReadOnlyList<(int Keep, int Epochs)> Rungs)> Brackets(int maxEpochs, int eta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEpochs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(eta, 2);
        var sMax = 0;
        while (Math.Pow(eta, sMax + 1) <= maxEpochs)
        {
            sMax++;
        }

        var brackets = new List<(int, IReadOnlyList<(int, int)>)>();
        for (var s = sMax; s >= 0; s--)
        {
            var n = (int)Math.Ceiling((sMax + 1.0) / (s + 1) * Math.Pow(eta, s));
            var rungs = new List<(int, int)>();
            for (var i = 0; i <= s; i++)
            {
                var keep = (int)Math.Floor(n * Math.Pow(eta, -i));
                var epochs = (int)Math.Max(1, Math.Round(maxEpochs * Math.Pow(eta, i - s)));
                rungs.Add((Math.Max(1, keep), epochs));
            }

            brackets.Add((n, rungs));
        }

        return brackets;
    }
}

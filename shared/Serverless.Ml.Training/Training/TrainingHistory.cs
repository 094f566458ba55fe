using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Ml.Training.Training;

/// <summary>One epoch's figures.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Step">Optimizer steps done at its end.</param>
/// <param name="TrainLoss">Mean training loss over the epoch's mini-batches (as they were computed, dropout on).</param>
/// <param name="TrainMetric">Accuracy or RMSE over the same mini-batches.</param>
/// <param name="EvalLoss">Loss on the eval split after the epoch, when there is one.</param>
/// <param name="EvalMetric">Metric on the eval split after the epoch.</param>
public sealed record EpochRecord(int Epoch, long Step, double TrainLoss, double TrainMetric, double? EvalLoss, double? EvalMetric);

/// <summary>
/// Loss and metric curves per epoch: the content of the ModelRun artifact. Renders itself as JSON and as a
/// self-contained SVG chart (two panels: loss, metric; train solid, eval dashed), with no plotting library.
/// </summary>
public sealed class TrainingHistory
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    private readonly List<EpochRecord> _epochs;

    /// <summary>Creates a history.</summary>
    public TrainingHistory(string lossName, string metricName, IEnumerable<EpochRecord>? epochs = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(lossName);
        ArgumentException.ThrowIfNullOrWhiteSpace(metricName);
        LossName = lossName;
        MetricName = metricName;
        _epochs = epochs?.ToList() ?? [];
    }

    /// <summary><c>cross_entropy</c> or <c>mse</c>.</summary>
    public string LossName { get; }

    /// <summary><c>accuracy</c> or <c>rmse</c>.</summary>
    public string MetricName { get; }

    /// <summary>The epochs so far, in order.</summary>
    public IReadOnlyList<EpochRecord> Epochs => _epochs;

    internal void Add(EpochRecord record) => _epochs.Add(record);

    /// <summary>JSON: <c>{"lossName":..,"metricName":..,"epochs":[{"epoch":1,"step":..,"trainLoss":..}, ...]}</c>.</summary>
    public string ToJson() => JsonSerializer.Serialize(new { lossName = LossName, metricName = MetricName, epochs = _epochs }, s_json);

    /// <summary>An SVG document with the loss (left) and metric (right) curves.</summary>
    public string ToSvg()
    {
        const int panelWidth = 420, panelHeight = 300, gap = 40;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{2 * panelWidth + gap}\" height=\"{panelHeight}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        sb.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        Panel(sb, 0, panelWidth, panelHeight, LossName, _epochs.Select(e => (double?)e.TrainLoss), _epochs.Select(e => e.EvalLoss));
        Panel(sb, panelWidth + gap, panelWidth, panelHeight, MetricName, _epochs.Select(e => (double?)e.TrainMetric), _epochs.Select(e => e.EvalMetric));
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private void Panel(StringBuilder sb, int x0, int width, int height, string title, IEnumerable<double?> train, IEnumerable<double?> eval)
    {
        const int left = 55, right = 15, top = 25, bottom = 35;
        var t = train.ToArray();
        var e = eval.ToArray();
        var values = t.Concat(e).Where(v => v is { } d && double.IsFinite(d)).Select(v => v!.Value).ToArray();
        double lo = values.Length > 0 ? values.Min() : 0, hi = values.Length > 0 ? values.Max() : 1;
        if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
        var pad = (hi - lo) * 0.05;
        lo -= pad; hi += pad;
        var n = Math.Max(2, _epochs.Count);
        double X(int i) => x0 + left + (width - left - right) * (_epochs.Count <= 1 ? 0.5 : (double)i / (n - 1));
        double Y(double v) => top + (height - top - bottom) * (1 - (v - lo) / (hi - lo));

        sb.Append(CultureInfo.InvariantCulture, $"<g><text x=\"{x0 + width / 2}\" y=\"15\" text-anchor=\"middle\" font-size=\"13\">{Escape(title)}</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x0 + left}\" y1=\"{height - bottom}\" x2=\"{x0 + width - right}\" y2=\"{height - bottom}\" stroke=\"black\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x0 + left}\" y1=\"{top}\" x2=\"{x0 + left}\" y2=\"{height - bottom}\" stroke=\"black\"/>\n");
        for (var k = 0; k <= 4; k++)
        {
            var v = lo + (hi - lo) * k / 4;
            var y = Y(v);
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x0 + left - 4}\" y1=\"{y:F1}\" x2=\"{x0 + width - right}\" y2=\"{y:F1}\" stroke=\"#ddd\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 + left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{v:G4}</text>\n");
        }
        var every = Math.Max(1, _epochs.Count / 10);
        for (var i = 0; i < _epochs.Count; i += every)
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(i):F1}\" y=\"{height - bottom + 14}\" text-anchor=\"middle\">{_epochs[i].Epoch}</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 + (left + width) / 2}\" y=\"{height - 5}\" text-anchor=\"middle\">epoch</text>\n");
        Series(sb, t, X, Y, "#1f77b4", null, "train");
        Series(sb, e, X, Y, "#d62728", "6,4", "eval");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 + width - right - 90}\" y=\"{top + 10}\" fill=\"#1f77b4\">— train</text>");
        if (e.Any(v => v.HasValue))
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 + width - right - 45}\" y=\"{top + 10}\" fill=\"#d62728\">-- eval</text>");
        sb.Append("</g>\n");
    }

    private static void Series(StringBuilder sb, double?[] values, Func<int, double> x, Func<double, double> y, string color, string? dash, string name)
    {
        var points = values.Select((v, i) => (v, i)).Where(p => p.v is { } d && double.IsFinite(d))
            .Select(p => string.Create(CultureInfo.InvariantCulture, $"{x(p.i):F1},{y(p.v!.Value):F1}")).ToArray();
        if (points.Length == 0) return;
        var dashAttr = dash is null ? "" : $" stroke-dasharray=\"{dash}\"";
        sb.Append(CultureInfo.InvariantCulture, $"<polyline class=\"{name}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dashAttr} points=\"{string.Join(' ', points)}\"/>\n");
        foreach (var p in points)
        {
            var xy = p.Split(',');
            sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{xy[0]}\" cy=\"{xy[1]}\" r=\"2.5\" fill=\"{color}\"/>");
        }
        sb.Append('\n');
    }

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}

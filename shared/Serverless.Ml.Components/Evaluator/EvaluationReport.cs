using System.Globalization;
using System.Net;
using System.Text;

namespace Serverless.Ml.Components.Evaluator;

/// <summary>
/// The self-contained HTML report of an evaluation: blessing outcome, slice table, confusion matrix, ROC curves and the
/// calibration diagram as inline SVG (no scripts, no external files), so it opens from the artifact store as is.
/// </summary>
public static class EvaluationReport
{
    private static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    /// <summary>Renders the report.</summary>
    public static string Render(EvaluationDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Model evaluation</title><style>")
            .Append("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}")
            .Append("th{background:#f3f3f3}td.l,th.l{text-align:left}.ok{color:#1a7f37}.bad{color:#c62828}.small{color:#888}svg{background:#fff;border:1px solid #ddd;margin:0.5em}")
            .Append("</style></head><body>");
        html.Append("<h1>Model evaluation</h1><p>Model <code>").Append(E(document.Model)).Append("</code>, task ").Append(E(document.Task))
            .Append(", label <code>").Append(E(document.LabelKey)).Append("</code>, ").Append(document.Overall.ExampleCount).Append(" examples.");
        if (document.BaselineModel is not null)
        {
            html.Append(" Baseline <code>").Append(E(document.BaselineModel)).Append("</code>.");
        }

        html.Append("</p>");
        AppendBlessing(html, document);
        AppendMetricTable(html, document);
        AppendSliceTable(html, document);
        if (document.Overall.ConfusionMatrix is { } matrix)
        {
            AppendConfusion(html, matrix, document.Classes);
        }

        if (document.Overall.RocCurves is { Count: > 0 } curves)
        {
            html.Append("<h2>ROC curves (one-vs-rest)</h2>").Append(RocSvg(curves));
        }

        if (document.Overall.Calibration is { } calibration)
        {
            html.Append("<h2>Calibration</h2>").Append(CalibrationSvg(calibration));
            html.Append("<table><tr><th>bucket</th><th>count</th><th>mean predicted</th><th>observed rate</th></tr>");
            foreach (var b in calibration)
            {
                html.Append(CultureInfo.InvariantCulture, $"<tr><td>[{F(b.Lower)}, {F(b.Upper)})</td><td>{b.Count}</td><td>{F(b.MeanPredicted)}</td><td>{F(b.ObservedRate)}</td></tr>");
            }

            html.Append("</table>");
        }

        return html.Append("</body></html>").ToString();
    }

    private static void AppendBlessing(StringBuilder html, EvaluationDocument document)
    {
        var blessing = document.Blessing;
        html.Append("<h2>Blessing: ").Append(blessing.Blessed ? "<span class=\"ok\">BLESSED</span>" : "<span class=\"bad\">NOT_BLESSED</span>").Append("</h2><ul>");
        foreach (var note in blessing.Notes)
        {
            html.Append("<li>").Append(E(note)).Append("</li>");
        }

        foreach (var check in blessing.Checks)
        {
            html.Append("<li class=\"").Append(check.Passed ? "ok" : "bad").Append("\">").Append(check.Passed ? "pass" : "FAIL").Append(" (").Append(check.Kind).Append("): ")
                .Append(E(check.Message)).Append("</li>");
        }

        html.Append("</ul>");
    }

    private static void AppendMetricTable(StringBuilder html, EvaluationDocument document)
    {
        html.Append("<h2>Overall metrics</h2><table><tr><th class=\"l\">metric</th><th>value</th>");
        if (document.BaselineMetrics is not null)
        {
            html.Append("<th>baseline</th>");
        }

        html.Append("</tr>");
        foreach (var (name, value) in document.Overall.Metrics.OrderBy(p => p.Key.Contains('/', StringComparison.Ordinal)).ThenBy(p => p.Key, StringComparer.Ordinal))
        {
            html.Append("<tr><td class=\"l\">").Append(E(name)).Append("</td><td>").Append(F(value)).Append("</td>");
            if (document.BaselineMetrics is not null)
            {
                html.Append("<td>").Append(document.BaselineMetrics.TryGetValue(name, out var b) ? F(b) : "").Append("</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</table>");
    }

    private static void AppendSliceTable(StringBuilder html, EvaluationDocument document)
    {
        if (document.Slices.Count == 0)
        {
            return;
        }

        var columns = document.Task == "classification"
            ? new[] { MetricNames.Accuracy, MetricNames.MacroF1, MetricNames.Auc, MetricNames.LogLoss }
            : new[] { MetricNames.Rmse, MetricNames.Mae, MetricNames.R2 };
        html.Append("<h2>Slices</h2><p>Minimum slice size ").Append(document.MinSliceSize).Append(".</p><table><tr><th class=\"l\">slice</th><th>examples</th>");
        foreach (var c in columns)
        {
            html.Append("<th>").Append(c).Append("</th>");
        }

        html.Append("</tr>");
        foreach (var slice in new[] { document.Overall }.Concat(document.Slices))
        {
            html.Append("<tr><td class=\"l\">").Append(E(slice.Slice)).Append("</td><td>").Append(slice.ExampleCount).Append("</td>");
            if (slice.BelowMinimumSize)
            {
                html.Append("<td class=\"small\" colspan=\"").Append(columns.Length).Append("\">below the minimum slice size</td>");
            }
            else
            {
                foreach (var c in columns)
                {
                    html.Append("<td>").Append(slice.Metrics.TryGetValue(c, out var v) ? F(v) : "").Append("</td>");
                }
            }

            html.Append("</tr>");
        }

        html.Append("</table>");
    }

    private static void AppendConfusion(StringBuilder html, IReadOnlyList<IReadOnlyList<long>> matrix, IReadOnlyList<string> classes)
    {
        var max = Math.Max(1, matrix.SelectMany(r => r).DefaultIfEmpty(0).Max());
        html.Append("<h2>Confusion matrix</h2><table><tr><th class=\"l\">label \\ predicted</th>");
        foreach (var c in classes)
        {
            html.Append("<th>").Append(E(c)).Append("</th>");
        }

        html.Append("</tr>");
        for (var r = 0; r < matrix.Count; r++)
        {
            html.Append("<tr><th class=\"l\">").Append(E(classes[r])).Append("</th>");
            for (var c = 0; c < matrix[r].Count; c++)
            {
                var alpha = (double)matrix[r][c] / max;
                html.Append(CultureInfo.InvariantCulture, $"<td style=\"background:rgba(31,119,180,{alpha:0.##})\">{matrix[r][c]}</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</table>");
    }

    private static string RocSvg(IReadOnlyDictionary<string, IReadOnlyList<RocPoint>> curves)
    {
        var svg = Frame("false positive rate", "true positive rate");
        svg.Append("<line x1=\"40\" y1=\"340\" x2=\"340\" y2=\"40\" stroke=\"#bbb\" stroke-dasharray=\"4\"/>");
        var i = 0;
        foreach (var (name, points) in curves)
        {
            var color = Palette[i % Palette.Length];
            svg.Append("<polyline fill=\"none\" stroke=\"").Append(color).Append("\" stroke-width=\"2\" points=\"")
                .AppendJoin(' ', points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{X(p.FalsePositiveRate):0.#},{Y(p.TruePositiveRate):0.#}"))).Append("\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"360\" y=\"{60 + (18 * i)}\" fill=\"{color}\" font-size=\"12\">{E(name)}</text>");
            i++;
        }

        return svg.Append("</svg>").ToString();
    }

    private static string CalibrationSvg(IReadOnlyList<CalibrationBucket> buckets)
    {
        var svg = Frame("mean predicted probability", "observed rate");
        svg.Append("<line x1=\"40\" y1=\"340\" x2=\"340\" y2=\"40\" stroke=\"#bbb\" stroke-dasharray=\"4\"/>");
        var points = buckets.Where(b => b.Count > 0).ToList();
        svg.Append("<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" points=\"")
            .AppendJoin(' ', points.Select(b => string.Create(CultureInfo.InvariantCulture, $"{X(b.MeanPredicted):0.#},{Y(b.ObservedRate):0.#}"))).Append("\"/>");
        foreach (var b in points)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{X(b.MeanPredicted):0.#}\" cy=\"{Y(b.ObservedRate):0.#}\" r=\"3\" fill=\"#d62728\"><title>{b.Count} predictions</title></circle>");
        }

        return svg.Append("</svg>").ToString();
    }

    private static StringBuilder Frame(string xLabel, string yLabel)
    {
        var svg = new StringBuilder("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"460\" height=\"380\" viewBox=\"0 0 460 380\">");
        svg.Append("<rect x=\"40\" y=\"40\" width=\"300\" height=\"300\" fill=\"none\" stroke=\"#444\"/>");
        for (var t = 0; t <= 4; t++)
        {
            var v = t / 4.0;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(v) - 8:0}\" y=\"356\" font-size=\"10\">{v:0.##}</text><text x=\"14\" y=\"{Y(v) + 4:0}\" font-size=\"10\">{v:0.##}</text>");
        }

        svg.Append("<text x=\"120\" y=\"374\" font-size=\"12\">").Append(E(xLabel)).Append("</text>");
        svg.Append("<text x=\"12\" y=\"30\" font-size=\"12\">").Append(E(yLabel)).Append("</text>");
        return svg;
    }

    private static double X(double v) => 40 + (300 * v);

    private static double Y(double v) => 340 - (300 * v);

    private static string F(double value) => EvaluationMetrics.Format(value);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}

using System.Globalization;
using System.Net;
using System.Text;

namespace Serverless.Ml.Data.Statistics;

/// <summary>
/// Renders statistics as one self-contained HTML page (inline CSS and SVG, no scripts, no external resources) that a
/// person opens in a browser: per feature a table with one row per split and a chart per split (equal-width
/// histogram for numbers, top values for text), in the spirit of TFDV's Facets view.
/// </summary>
public static class StatisticsReport
{
    private static readonly string[] Colors = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#E45756"];

    /// <summary>Builds the HTML.</summary>
    public static string ToHtml(DatasetFeatureStatisticsList statistics, string title = "Data statistics")
    {
        ArgumentNullException.ThrowIfNull(statistics);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title><style>")
          .Append("body{font-family:system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin:24px 0 6px}")
          .Append("table{border-collapse:collapse;font-size:12px;margin:4px 0}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}")
          .Append("th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.warn{color:#b00;font-weight:600}")
          .Append(".charts{display:flex;gap:16px;flex-wrap:wrap}.chart{font-size:11px}.tag{font-size:11px;color:#666;font-weight:normal}")
          .Append("</style></head><body>");
        sb.Append("<h1>").Append(E(title)).Append("</h1><p>");
        foreach (var d in statistics.Datasets) sb.Append(CultureInfo.InvariantCulture, $"<b>{E(d.Name)}</b>: {d.NumExamples:N0} examples &nbsp; ");
        sb.Append("</p>");
        var names = statistics.Datasets.SelectMany(d => d.Features.Select(f => f.Name)).Distinct().ToList();
        foreach (var name in names)
        {
            var per = statistics.Datasets.Select(d => (d.Name, F: d.Find(name))).Where(x => x.F is not null).ToList();
            var first = per[0].F!;
            sb.Append("<h2>").Append(E(name)).Append(" <span class=\"tag\">").Append(first.Type).Append("</span>");
            var conflicts = per.SelectMany(p => p.F!.ConflictingTypes ?? []).Distinct().ToList();
            if (conflicts.Count > 0) sb.Append(" <span class=\"warn\">also seen as ").Append(string.Join(", ", conflicts)).Append("</span>");
            sb.Append("</h2>");
            if (first.NumStats is not null) NumericTable(sb, per);
            else if (first.StringStats is not null) StringTable(sb, per);
            else BytesTable(sb, per);
            sb.Append("<div class=\"charts\">");
            for (var i = 0; i < per.Count; i++)
            {
                var f = per[i].F!;
                var color = Colors[i % Colors.Length];
                if (f.NumStats is { Histograms.Count: > 0 } ns) Bars(sb, per[i].Name, ns.Histograms[0].Buckets.Select(b => (Label: $"{G(b.LowValue)}–{G(b.HighValue)}", b.SampleCount)).ToList(), color, vertical: true);
                else if (f.StringStats is { } ss) Bars(sb, per[i].Name, ss.TopValues.Take(10).Select(v => (Label: v.Value, v.Frequency)).ToList(), color, vertical: false);
            }
            sb.Append("</div>");
        }
        sb.Append("</body></html>");
        return sb.ToString();
    }

    /// <summary>Writes the HTML to a file.</summary>
    public static void Save(DatasetFeatureStatisticsList statistics, string path, string title = "Data statistics") =>
        File.WriteAllText(path, ToHtml(statistics, title));

    private static void NumericTable(StringBuilder sb, List<(string Name, FeatureNameStatistics? F)> per)
    {
        sb.Append("<table><tr><th>split</th><th>count</th><th>missing</th><th>mean</th><th>std dev</th><th>zeros</th><th>min</th><th>median</th><th>max</th><th>NaN</th></tr>");
        foreach (var (name, f) in per)
        {
            var s = f!.NumStats;
            if (s is null) continue;
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(name)}</td><td>{s.CommonStats.NumNonMissing:N0}</td><td>{Missing(s.CommonStats)}</td><td>{G(s.Mean)}</td><td>{G(s.StdDev)}</td><td>{Pct(s.NumZeros, s.CommonStats.TotNumValues)}</td><td>{G(s.Min)}</td><td>{G(s.Median)}</td><td>{G(s.Max)}</td><td>{s.NumNan:N0}</td></tr>");
        }
        sb.Append("</table>");
    }

    private static void StringTable(StringBuilder sb, List<(string Name, FeatureNameStatistics? F)> per)
    {
        sb.Append("<table><tr><th>split</th><th>count</th><th>missing</th><th>unique</th><th>top</th><th>freq top</th><th>avg length</th></tr>");
        foreach (var (name, f) in per)
        {
            var s = f!.StringStats;
            if (s is null) continue;
            var top = s.TopValues.FirstOrDefault();
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(name)}</td><td>{s.CommonStats.NumNonMissing:N0}</td><td>{Missing(s.CommonStats)}</td><td>{(s.UniqueIsEstimate ? "≈" : string.Empty)}{s.Unique:N0}</td><td>{E(top?.Value ?? string.Empty)}</td><td>{top?.Frequency ?? 0:N0}</td><td>{G(s.AvgLength)}</td></tr>");
        }
        sb.Append("</table>");
    }

    private static void BytesTable(StringBuilder sb, List<(string Name, FeatureNameStatistics? F)> per)
    {
        sb.Append("<table><tr><th>split</th><th>count</th><th>missing</th><th>≈unique</th><th>avg bytes</th><th>min bytes</th><th>max bytes</th></tr>");
        foreach (var (name, f) in per)
        {
            var s = f!.BytesStats;
            if (s is null) continue;
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(name)}</td><td>{s.CommonStats.NumNonMissing:N0}</td><td>{Missing(s.CommonStats)}</td><td>{s.Unique:N0}</td><td>{G(s.AvgNumBytes)}</td><td>{G(s.MinNumBytes)}</td><td>{G(s.MaxNumBytes)}</td></tr>");
        }
        sb.Append("</table>");
    }

    private static void Bars(StringBuilder sb, string split, List<(string Label, double Count)> bars, string color, bool vertical)
    {
        if (bars.Count == 0) return;
        var max = Math.Max(1e-12, bars.Max(b => b.Count));
        sb.Append("<div class=\"chart\"><div>").Append(E(split)).Append("</div>");
        if (vertical)
        {
            const int w = 320, h = 120;
            var bw = (double)w / bars.Count;
            sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h + 14}\" role=\"img\">");
            for (var i = 0; i < bars.Count; i++)
            {
                var bh = bars[i].Count / max * h;
                sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{(i * bw) + 1:F1}\" y=\"{h - bh:F1}\" width=\"{bw - 2:F1}\" height=\"{bh:F1}\" fill=\"{color}\"><title>{E(bars[i].Label)}: {bars[i].Count:N0}</title></rect>");
            }
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"{h + 12}\">{E(bars[0].Label.Split('–')[0])}</text><text x=\"{w}\" y=\"{h + 12}\" text-anchor=\"end\">{E(bars[^1].Label.Split('–')[^1])}</text></svg>");
        }
        else
        {
            const int w = 320, rowH = 16, labelW = 110;
            sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{bars.Count * rowH}\" role=\"img\">");
            for (var i = 0; i < bars.Count; i++)
            {
                var bwid = bars[i].Count / max * (w - labelW - 50);
                var label = bars[i].Label.Length > 16 ? bars[i].Label[..15] + "…" : bars[i].Label;
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"{(i * rowH) + 12}\">{E(label)}</text><rect x=\"{labelW}\" y=\"{(i * rowH) + 2}\" width=\"{bwid:F1}\" height=\"{rowH - 4}\" fill=\"{color}\"><title>{E(bars[i].Label)}: {bars[i].Count:N0}</title></rect><text x=\"{labelW + bwid + 4:F1}\" y=\"{(i * rowH) + 12}\">{bars[i].Count:N0}</text>");
            }
            sb.Append("</svg>");
        }
        sb.Append("</div>");
    }

    private static string Missing(CommonStatistics c)
    {
        var total = c.NumMissing + c.NumNonMissing;
        var text = Pct(c.NumMissing, total);
        return c.NumMissing > 0 ? $"<span class=\"warn\">{text}</span>" : text;
    }

    private static string Pct(long part, long total) => total == 0 ? "0%" : ((double)part / total).ToString("P1", CultureInfo.InvariantCulture);

    private static string G(double v) => v.ToString("G5", CultureInfo.InvariantCulture);

    /// <summary>HTML-encoded, with control characters (a NUL in a value) shown as \uXXXX instead of written raw.</summary>
    private static string E(string s) =>
        WebUtility.HtmlEncode(s.Any(char.IsControl) ? string.Concat(s.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString())) : s);
}

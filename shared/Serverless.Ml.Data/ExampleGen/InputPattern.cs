using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Serverless.Ml.Data.ExampleGen;

/// <summary>
/// TFX-style input patterns: a path relative to an input base with <c>*</c> and <c>?</c> wildcards (within one path
/// segment) and the placeholders <c>{SPAN}</c> and <c>{VERSION}</c> (digits). Resolution picks the latest span
/// (highest number) unless one is requested, then the latest version within it.
/// </summary>
public static class InputPattern
{
    /// <summary>Resolves a pattern under <paramref name="inputBase"/>.</summary>
    /// <exception cref="FileNotFoundException">Nothing matches (or nothing for the requested span/version).</exception>
    public static ResolvedInput Resolve(string inputBase, string pattern, long? span = null, long? version = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputBase);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var matches = Match(inputBase, pattern);
        if (matches.Count == 0) throw new FileNotFoundException($"no input files match '{pattern}' under {inputBase}");
        var chosenSpan = span ?? matches.Max(m => m.Span);
        var inSpan = matches.Where(m => m.Span == chosenSpan).ToList();
        if (inSpan.Count == 0) throw new FileNotFoundException($"no input files for span {chosenSpan} match '{pattern}' under {inputBase}");
        var chosenVersion = version ?? inSpan.Max(m => m.Version);
        var files = inSpan.Where(m => m.Version == chosenVersion).Select(m => m.Path).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new FileNotFoundException($"no input files for span {chosenSpan} version {chosenVersion} match '{pattern}' under {inputBase}");
        return new ResolvedInput(chosenSpan, chosenVersion, files);
    }

    private sealed record Hit(string Path, long? Span, long? Version);

    private static List<Hit> Match(string inputBase, string pattern)
    {
        var segments = pattern.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        var regexes = segments.Select(ToRegex).ToArray();
        var hits = new List<Hit>();
        void Walk(string dir, int level, long? span, long? version)
        {
            if (!Directory.Exists(dir)) return;
            var last = level == segments.Length - 1;
            var entries = last ? Directory.EnumerateFiles(dir) : Directory.EnumerateDirectories(dir);
            foreach (var entry in entries)
            {
                var m = regexes[level].Match(Path.GetFileName(entry));
                if (!m.Success) continue;
                var s = span;
                var v = version;
                if (!Merge(m, "span", ref s) || !Merge(m, "version", ref v)) continue;
                if (last) hits.Add(new Hit(entry, s, v));
                else Walk(entry, level + 1, s, v);
            }
        }
        Walk(inputBase, 0, null, null);
        return hits;
    }

    private static bool Merge(Match m, string group, ref long? value)
    {
        var g = m.Groups[group];
        if (!g.Success) return true;
        var v = long.Parse(g.Value, CultureInfo.InvariantCulture);
        if (value is not null && value != v) return false; // the same placeholder twice must agree
        value = v;
        return true;
    }

    private static Regex ToRegex(string segment)
    {
        var sb = new StringBuilder("^");
        var spanSeen = false;
        var versionSeen = false;
        for (var i = 0; i < segment.Length; i++)
        {
            if (segment.AsSpan(i).StartsWith("{SPAN}", StringComparison.Ordinal))
            {
                sb.Append(spanSeen ? "\\k<span>" : "(?<span>[0-9]+)");
                spanSeen = true;
                i += 5;
            }
            else if (segment.AsSpan(i).StartsWith("{VERSION}", StringComparison.Ordinal))
            {
                sb.Append(versionSeen ? "\\k<version>" : "(?<version>[0-9]+)");
                versionSeen = true;
                i += 8;
            }
            else if (segment[i] == '*') sb.Append("[^/]*");
            else if (segment[i] == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(segment[i].ToString()));
        }
        return new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}

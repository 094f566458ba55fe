using System.Globalization;
using System.Text.Json;

namespace Serverless.Hosting.Configuration;

/// <summary>
/// One JSON object of host.json with typed getters that fail with a <see cref="HostJsonException"/> naming the key and
/// the file. Names match case-insensitively, as in the Functions host. Provider factories read their own
/// <c>storageProvider</c> keys through it, so every provider reports bad settings the same way.
/// </summary>
public sealed class HostJsonSection
{
    private readonly JsonElement _element;

    /// <summary>Wraps <paramref name="element"/> (a JSON object) found at <paramref name="path"/> in <paramref name="source"/>.</summary>
    public HostJsonSection(JsonElement element, string path, string source)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        if (element.ValueKind != JsonValueKind.Object) throw new HostJsonException(path, source, $"must be an object; got {Kind(element)}.");
        _element = element.Clone();
        Path = path;
        Source = source;
    }

    /// <summary>The section's path, e.g. <c>extensions.durableTask.storageProvider</c>.</summary>
    public string Path { get; }

    /// <summary>The file the section came from.</summary>
    public string Source { get; }

    /// <summary>An empty section (a host.json without this object).</summary>
    public static HostJsonSection Empty(string path, string source)
    {
        using var doc = JsonDocument.Parse("{}");
        return new HostJsonSection(doc.RootElement, path, source);
    }

    /// <summary>The names of the keys present.</summary>
    public IEnumerable<string> Keys => _element.EnumerateObject().Select(p => p.Name);

    /// <summary>Fails on the first key that is not in <paramref name="known"/>, listing the supported ones.</summary>
    public void RejectUnknownKeys(IReadOnlyCollection<string> known)
    {
        ArgumentNullException.ThrowIfNull(known);
        foreach (var p in _element.EnumerateObject())
        {
            if (!known.Contains(p.Name, StringComparer.OrdinalIgnoreCase))
                throw new HostJsonException($"{Path}.{p.Name}", Source, $"is not supported here; supported keys of '{Path}': {string.Join(", ", known)}.");
        }
    }

    /// <summary>The raw value of a key, or null when absent or JSON null.</summary>
    public JsonElement? Get(string name)
    {
        foreach (var p in _element.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
                return p.Value.ValueKind == JsonValueKind.Null ? null : p.Value;
        }
        return null;
    }

    /// <summary>A nested object, or null when absent.</summary>
    public HostJsonSection? Section(string name) => Get(name) is { } v ? new HostJsonSection(v, $"{Path}.{name}", Source) : null;

    /// <summary>A non-empty string, or null when absent.</summary>
    public string? String(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.String) throw Error(name, $"must be a string; got {Kind(v)}.");
        var s = v.GetString()!;
        return s.Trim().Length == 0 ? throw Error(name, "must not be empty.") : s;
    }

    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>], or null when absent.</summary>
    public int? Int(string name, int min = int.MinValue, int max = int.MaxValue)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n))
            throw Error(name, $"must be a whole number; got {Kind(v)} {v.GetRawText()}.");
        if (n < min) throw Error(name, $"must be at least {min}; got {n}.");
        if (n > max) throw Error(name, $"must be at most {max}; got {n}.");
        return n;
    }

    /// <summary>true or false, or null when absent.</summary>
    public bool? Bool(string name)
    {
        if (Get(name) is not { } v) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(name, $"must be true or false; got {Kind(v)} {v.GetRawText()}."),
        };
    }

    /// <summary>
    /// A positive time span written as Durable Functions writes them (<c>"hh:mm:ss"</c>, <c>"00:00:00.100"</c>), or null
    /// when absent. The value must lie in [<paramref name="min"/>, <paramref name="max"/>].
    /// </summary>
    public TimeSpan? Duration(string name, TimeSpan min, TimeSpan max)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.String || !System.TimeSpan.TryParse(v.GetString(), CultureInfo.InvariantCulture, out var t))
            throw Error(name, $"must be a time span such as \"00:00:30\" (hh:mm:ss); got {v.GetRawText()}.");
        if (t < min) throw Error(name, $"must be at least {min:c}; got {t:c}.");
        if (t > max) throw Error(name, $"must be at most {max:c}; got {t:c}.");
        return t;
    }

    /// <summary>An error naming <paramref name="name"/> in this section and the file.</summary>
    public HostJsonException Error(string name, string problem) => new($"{Path}.{name}", Source, problem);

    internal static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };
}

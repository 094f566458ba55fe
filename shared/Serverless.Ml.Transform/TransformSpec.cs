using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Ml.Transform;

/// <summary>
/// The declarative preprocessing spec: an ordered list of output features (the order is the column order of the
/// output matrix) and an optional label. Loads from JSON or YAML (camelCase keys, snake_case enum values).
/// </summary>
public sealed record TransformSpec
{
    /// <summary>Output features in matrix order.</summary>
    public required IReadOnlyList<FeatureSpec> Features { get; init; }

    /// <summary>The label, or null for unlabeled data.</summary>
    public LabelSpec? Label { get; init; }

    /// <summary>JSON options used for specs and fitted transforms: camelCase properties, snake_case enums.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = CreateJsonOptions();

    /// <summary>Loads a spec from a <c>.json</c>, <c>.yaml</c> or <c>.yml</c> file.</summary>
    /// <exception cref="TransformSpecFormatException">The file is not a readable spec, or exceeds a bound of <paramref name="limits"/>; names the file, line and column.</exception>
    public static TransformSpec Load(string path, TransformSpecLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return TransformSpecReader.Load(path, limits ?? TransformSpecLimits.Default);
    }

    /// <summary>Parses a JSON spec; <paramref name="origin"/> names it in errors (a file, or the parameter it came from).</summary>
    /// <exception cref="TransformSpecFormatException">Not a readable spec, or a bound of <paramref name="limits"/> exceeded.</exception>
    public static TransformSpec FromJson(string json, TransformSpecLimits? limits = null, string origin = "<json spec>")
    {
        ArgumentNullException.ThrowIfNull(json);
        return TransformSpecReader.FromJson(json, origin, limits ?? TransformSpecLimits.Default);
    }

    /// <summary>
    /// Parses a YAML spec (same keys as JSON; plain scalars that look like numbers or booleans are typed; the first
    /// document only); <paramref name="origin"/> names it in errors.
    /// </summary>
    /// <exception cref="TransformSpecFormatException">Not a readable spec, or a bound of <paramref name="limits"/> exceeded.</exception>
    public static TransformSpec FromYaml(string yaml, TransformSpecLimits? limits = null, string origin = "<yaml spec>")
    {
        ArgumentNullException.ThrowIfNull(yaml);
        return TransformSpecReader.FromYaml(yaml, origin, limits ?? TransformSpecLimits.Default);
    }

    /// <summary>Serializes the spec as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    private static JsonSerializerOptions CreateJsonOptions()
    {
        var o = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        return o;
    }
}

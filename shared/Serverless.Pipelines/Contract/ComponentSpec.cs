using System.Text.RegularExpressions;
using Serverless.Metadata;

namespace Serverless.Pipelines;

/// <summary>The value type of a component parameter.</summary>
public enum ParameterType
{
    /// <summary>Text.</summary>
    String,

    /// <summary>64-bit integer.</summary>
    Int,

    /// <summary>64-bit floating point.</summary>
    Double,

    /// <summary>true / false.</summary>
    Bool,

    /// <summary>
    /// A local file or folder the node reads (source data). It must exist before the run starts; its content
    /// fingerprint enters the cache key and it is recorded as an <see cref="ArtifactTypes.ExternalFile"/> input.
    /// </summary>
    Path,
}

/// <summary>A typed input or output of a component.</summary>
/// <param name="Name">The channel name, e.g. <c>examples</c>; also a folder name in the artifact layout.</param>
/// <param name="ArtifactType">The artifact type it carries, e.g. <see cref="ArtifactTypes.Examples"/>.</param>
/// <param name="Optional">For inputs: whether the node may leave it unbound. Outputs are always produced.</param>
/// <param name="Description">What it is, for documentation and errors.</param>
public sealed record ChannelSpec(string Name, string ArtifactType, bool Optional = false, string Description = "");

/// <summary>A typed component parameter.</summary>
/// <param name="Name">The parameter name, e.g. <c>has_header</c>.</param>
/// <param name="Type">The value type; values given as another type are converted when lossless.</param>
/// <param name="Default">The value when the node gives none; null makes the parameter required unless <paramref name="Optional"/>.</param>
/// <param name="Optional">Whether the parameter may be absent with no default.</param>
/// <param name="Description">What it does.</param>
public sealed record ParameterSpec(string Name, ParameterType Type, MetadataValue? Default = null, bool Optional = false, string Description = "")
{
    private readonly ParameterUse? use;

    /// <summary>True when a node must give a value.</summary>
    public bool Required => Default is null && !Optional;

    /// <summary>
    /// What the parameter is, for security (see <see cref="ParameterUse"/>). Default: <see cref="ParameterUse.InputPath"/>
    /// for paths, <see cref="ParameterUse.Text"/> for strings (an operator setting until declared a
    /// <see cref="ParameterUse.Value"/>), <see cref="ParameterUse.Value"/> for numbers and flags.
    /// </summary>
    public ParameterUse Use
    {
        get => use ?? Type switch
        {
            ParameterType.Path => ParameterUse.InputPath,
            ParameterType.String => ParameterUse.Text,
            _ => ParameterUse.Value,
        };
        init => use = value;
    }

    /// <summary>True when a run request (HTTP body, blob upload, Durable API input) may set it: values and relative patterns.</summary>
    public bool SafeForRequests => Use is ParameterUse.Value or ParameterUse.RelativePattern;

    /// <summary>
    /// Converts a value to this parameter's type: an integer to a double, an integral double to an integer,
    /// a number or boolean to a string. Returns null with an error when the value cannot be this type.
    /// </summary>
    public (MetadataValue? Value, string? Error) Coerce(MetadataValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return (Type, value.Type) switch
        {
            (ParameterType.String or ParameterType.Path, PropertyType.String) => (value, null),
            (ParameterType.String or ParameterType.Path, _) => (MetadataValue.FromString(value.ToString()), null),
            (ParameterType.Int, PropertyType.Int) => (value, null),
            (ParameterType.Int, PropertyType.Double) when value.DoubleValue == Math.Round(value.DoubleValue) && Math.Abs(value.DoubleValue) < 9e15
                => (MetadataValue.FromInt((long)value.DoubleValue), null),
            (ParameterType.Double, PropertyType.Double) => (value, null),
            (ParameterType.Double, PropertyType.Int) => (MetadataValue.FromDouble(value.IntValue), null),
            (ParameterType.Bool, PropertyType.Boolean) => (value, null),
            _ => (null, $"expected {Describe(Type)} but got {Describe(value)}"),
        };
    }

    private static string Describe(ParameterType type) => type switch
    {
        ParameterType.Int => "an integer",
        ParameterType.Double => "a number",
        ParameterType.Bool => "true or false",
        ParameterType.Path => "a path",
        _ => "a string",
    };

    private static string Describe(MetadataValue value) => value.Type switch
    {
        PropertyType.String => $"the string {ErrorText.Quote(value.StringValue)}",
        _ => value.ToString(),
    };
}

/// <summary>
/// A component's declaration (TFX's <c>ComponentSpec</c>): what it reads, writes and is configured by, and
/// its version. The version is part of the cache key: bump it whenever the executor's output for the same
/// inputs and parameters changes.
/// </summary>
public sealed record ComponentSpec
{
    /// <summary>The component type name used in pipeline files, e.g. <c>CsvRowCount</c>; also the execution type in metadata.</summary>
    public required string Type { get; init; }

    /// <summary>The executor's version, e.g. <c>1</c>; part of the cache key.</summary>
    public required string Version { get; init; }

    /// <summary>What the component does.</summary>
    public string Description { get; init; } = string.Empty;

    /// <summary>Input channels.</summary>
    public IReadOnlyList<ChannelSpec> Inputs { get; init; } = [];

    /// <summary>Output channels; each becomes an artifact folder per execution.</summary>
    public IReadOnlyList<ChannelSpec> Outputs { get; init; } = [];

    /// <summary>Parameters.</summary>
    public IReadOnlyList<ParameterSpec> Parameters { get; init; } = [];

    /// <summary>
    /// The parameter that selects files inside the component's data folder (ExampleGen's <c>input_pattern</c>), or null.
    /// When a run's data is one uploaded file in a folder of its own (a blob trigger, <c>dataBlob</c>), the folder parameter
    /// takes that folder and this parameter becomes <c>*</c>, so the upload is read whatever its name.
    /// </summary>
    public string? DataPattern { get; init; }

    /// <summary>Returns the input with this name, or null.</summary>
    public ChannelSpec? FindInput(string name) => Inputs.FirstOrDefault(c => c.Name == name);

    /// <summary>Returns the output with this name, or null.</summary>
    public ChannelSpec? FindOutput(string name) => Outputs.FirstOrDefault(c => c.Name == name);

    /// <summary>Returns the parameter with this name, or null.</summary>
    public ParameterSpec? FindParameter(string name) => Parameters.FirstOrDefault(p => p.Name == name);

    /// <summary>
    /// Applies defaults and converts values to the declared types. Returns the resolved parameters and the
    /// problems found (unknown names, missing required values, wrong types), one message per parameter.
    /// </summary>
    public (IReadOnlyDictionary<string, MetadataValue> Values, IReadOnlyList<(string Parameter, string Message)> Errors) ResolveParameters(
        IReadOnlyDictionary<string, MetadataValue> given)
    {
        ArgumentNullException.ThrowIfNull(given);
        var values = new SortedDictionary<string, MetadataValue>(StringComparer.Ordinal);
        var errors = new List<(string, string)>();
        foreach (var name in given.Keys.Where(k => FindParameter(k) is null).Order(StringComparer.Ordinal))
        {
            errors.Add((name, $"unknown parameter {ErrorText.Quote(name)} of component '{Type}' (known: {string.Join(", ", Parameters.Select(p => p.Name))})"));
        }

        foreach (var parameter in Parameters)
        {
            if (given.TryGetValue(parameter.Name, out var value))
            {
                var (coerced, error) = parameter.Coerce(value);
                if (coerced is null)
                {
                    errors.Add((parameter.Name, error!));
                }
                else
                {
                    values[parameter.Name] = coerced;
                }
            }
            else if (parameter.Default is not null)
            {
                values[parameter.Name] = parameter.Default;
            }
            else if (parameter.Required)
            {
                errors.Add((parameter.Name, $"required parameter of component '{Type}' is missing"));
            }
        }

        return (values, errors);
    }

    /// <summary>Checks the declaration itself: names are identifiers and unique, defaults have the declared type.</summary>
    /// <exception cref="ArgumentException">The spec is malformed (a programming error in the component).</exception>
    public void EnsureValid()
    {
        if (!Names.IsValid(Type))
        {
            throw new ArgumentException($"Component type '{Type}' is not a valid name ({Names.Rule}).");
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(Version);
        foreach (var (kind, names) in new[] { ("input", Inputs.Select(i => i.Name)), ("output", Outputs.Select(o => o.Name)), ("parameter", Parameters.Select(p => p.Name)) })
        {
            var list = names.ToList();
            var bad = list.FirstOrDefault(n => !Names.IsValid(n));
            if (bad is not null)
            {
                throw new ArgumentException($"Component '{Type}': {kind} name '{bad}' is not a valid name ({Names.Rule}).");
            }

            var duplicate = list.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
            {
                throw new ArgumentException($"Component '{Type}': {kind} '{duplicate.Key}' is declared twice.");
            }
        }

        if (DataPattern is not null && FindParameter(DataPattern) is not { Type: ParameterType.String })
        {
            throw new ArgumentException($"Component '{Type}': DataPattern '{DataPattern}' is not a string parameter.");
        }

        foreach (var parameter in Parameters)
        {
            var fits = parameter.Use switch
            {
                ParameterUse.InputPath or ParameterUse.InputFolder => parameter.Type == ParameterType.Path,
                // Text: free text and documents (strings), or a resource limit (a number an operator sets, never a request).
                ParameterUse.Value or ParameterUse.Text => parameter.Type != ParameterType.Path,
                _ => parameter.Type == ParameterType.String,
            };
            if (!fits)
            {
                throw new ArgumentException($"Component '{Type}': parameter '{parameter.Name}' of type {parameter.Type} cannot have use {parameter.Use}.");
            }
        }

        foreach (var parameter in Parameters.Where(p => p.Default is not null))
        {
            if (parameter.Coerce(parameter.Default!).Value is null)
            {
                throw new ArgumentException($"Component '{Type}': the default of parameter '{parameter.Name}' is not {parameter.Type}.");
            }
        }
    }
}

/// <summary>The naming rule for pipelines, nodes, channels and parameters: safe as blob path segments.</summary>
public static partial class Names
{
    /// <summary>The rule in words, for error messages.</summary>
    public const string Rule = "letters, digits, '_', '-' and '.', starting with a letter or digit, at most 128 characters";

    /// <summary>True when <paramref name="name"/> follows <see cref="Rule"/>.</summary>
    public static bool IsValid(string? name) => name is { Length: > 0 and <= 128 } && Pattern().IsMatch(name) && name != "." && !name.Contains("..", StringComparison.Ordinal);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    private static partial Regex Pattern();
}

using System.Globalization;
using Serverless.Metadata;

namespace Serverless.Pipelines.Orchestration;

/// <summary>
/// Run parameters (<c>--param k=v</c>, an HTTP body's <c>parameters</c>): <c>node.param=value</c> sets one node's
/// parameter; a bare <c>param=value</c> sets it on every node whose component declares it. Values are text,
/// converted to the declared type; relative paths are resolved against the current directory.
/// </summary>
public static class RunParameters
{
    /// <summary>Returns <paramref name="definition"/> with the parameters applied.</summary>
    /// <exception cref="PipelineValidationException">A key names no node or parameter, or a value does not convert.</exception>
    public static PipelineDefinition Apply(PipelineDefinition definition, IReadOnlyDictionary<string, string> parameters, ComponentRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(registry);
        var errors = new List<PipelineError>();
        var nodes = definition.Nodes.ToList();
        foreach (var (key, text) in parameters)
        {
            var dot = key.LastIndexOf('.');
            var nodeId = dot > 0 ? key[..dot] : null;
            var name = dot > 0 ? key[(dot + 1)..] : key;
            var matched = false;
            for (var i = 0; i < nodes.Count; i++)
            {
                var node = nodes[i];
                if ((nodeId is not null && node.Id != nodeId) || !registry.TryGet(node.Component, out var component))
                {
                    continue;
                }

                var spec = component.Spec.FindParameter(name);
                if (spec is null)
                {
                    if (nodeId is not null)
                    {
                        errors.Add(new PipelineError($"--param {key}: component {node.Component} has no parameter '{name}' (parameters: {string.Join(", ", component.Spec.Parameters.Select(p => p.Name))})", node.Id, $"parameters.{name}"));
                        matched = true;
                    }

                    continue;
                }

                matched = true;
                if (!TryConvert(spec.Type, text, out var value))
                {
                    errors.Add(new PipelineError($"--param {key}: '{text}' is not a valid {spec.Type.ToString().ToLowerInvariant()}", node.Id, $"parameters.{name}"));
                    continue;
                }

                nodes[i] = node with { Parameters = new Dictionary<string, MetadataValue>(node.Parameters, StringComparer.Ordinal) { [name] = value } };
            }

            if (!matched)
            {
                errors.Add(new PipelineError(nodeId is null
                    ? $"--param {key}: no node of pipeline '{definition.Name}' has a parameter '{name}'"
                    : $"--param {key}: pipeline '{definition.Name}' has no node '{nodeId}'"));
            }
        }

        return errors.Count > 0 ? throw new PipelineValidationException(errors) : definition with { Nodes = nodes };
    }

    /// <summary>
    /// The parameter that a data location (an uploaded file, an HTTP body's <c>data</c>) sets: the first path
    /// parameter of the first node, in declaration order, that has one (e.g. <c>import.source</c>); null if none.
    /// </summary>
    public static string? DataParameter(PipelineDefinition definition, ComponentRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(registry);
        foreach (var node in definition.Nodes)
        {
            if (registry.TryGet(node.Component, out var component) && component.Spec.Parameters.FirstOrDefault(p => p.Type == ParameterType.Path) is { } path)
            {
                return $"{node.Id}.{path.Name}";
            }
        }

        return null;
    }

    private static bool TryConvert(ParameterType type, string text, out MetadataValue value)
    {
        value = MetadataValue.FromString(text);
        switch (type)
        {
            case ParameterType.Int when long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l):
                value = l;
                return true;
            case ParameterType.Double when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d):
                value = d;
                return true;
            case ParameterType.Bool when bool.TryParse(text, out var b):
                value = b;
                return true;
            case ParameterType.Path:
                value = Path.GetFullPath(text);
                return true;
            case ParameterType.String:
                return true;
            default:
                return false;
        }
    }
}

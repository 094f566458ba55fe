using System.Globalization;
using Serverless.Metadata;

namespace Serverless.Pipelines.Orchestration;

/// <summary>
/// Run parameters (<c>--param k=v</c>, an HTTP body's <c>parameters</c>): <c>node.param=value</c> sets one node's
/// parameter; a bare <c>param=value</c> sets it on every node whose component declares it. Values are text,
/// converted to the declared type; relative paths are resolved against the current directory. A run request
/// (<see cref="ParameterSource.Request"/>) may set only parameters its component declares safe; paths, executables and
/// documents are operator settings.
/// </summary>
public static class RunParameters
{
    /// <summary>Returns <paramref name="definition"/> with the parameters applied.</summary>
    /// <param name="definition">The pipeline as loaded from its file.</param>
    /// <param name="parameters">Key (<c>node.param</c> or <c>param</c>) -> value as text.</param>
    /// <param name="registry">The components.</param>
    /// <param name="source">Who gave them; default <see cref="ParameterSource.Request"/> (the safe assumption).</param>
    /// <param name="limits">Bounds on keys and values; default <see cref="PipelineLimits.Default"/>.</param>
    /// <exception cref="PipelineValidationException">A key names no node or parameter, a request sets an operator
    /// setting, a value is too long, or a value does not convert.</exception>
    public static PipelineDefinition Apply(PipelineDefinition definition, IReadOnlyDictionary<string, string> parameters, ComponentRegistry registry, ParameterSource source = ParameterSource.Request, PipelineLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(registry);
        limits ??= PipelineLimits.Default;
        var errors = new List<PipelineError>();
        var nodes = definition.Nodes.ToList();
        foreach (var (key, text) in parameters)
        {
            var shownKey = ErrorText.Quote(key);
            if (key.Length > limits.MaxParameterLength || (text?.Length ?? 0) > limits.MaxParameterLength || text is null)
            {
                errors.Add(new PipelineError(text is null
                    ? $"--param {shownKey}: the value is null"
                    : $"--param {shownKey}: {Math.Max(key.Length, text.Length)} characters, more than the limit of {limits.MaxParameterLength} (host.json extensions.pipelines.limits.maxParameterLength): {ErrorText.Quote(text)}"));
                continue;
            }

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
                        errors.Add(new PipelineError($"--param {shownKey}: component {node.Component} has no parameter {ErrorText.Quote(name)} (parameters: {string.Join(", ", component.Spec.Parameters.Select(p => p.Name))})", node.Id, $"parameters.{name}"));
                        matched = true;
                    }

                    continue;
                }

                matched = true;
                if (source == ParameterSource.Request && !spec.SafeForRequests)
                {
                    errors.Add(new PipelineError(
                        $"--param {shownKey}: '{name}' of component {node.Component} is an operator setting ({Describe(spec.Use)}); a run request may set only numbers, flags, names and relative patterns: set it in the pipeline file or host.json",
                        node.Id,
                        $"parameters.{name}"));
                    continue;
                }

                if (!TryConvert(spec.Type, text, out var value))
                {
                    errors.Add(new PipelineError($"--param {shownKey}: {ErrorText.Quote(text)} is not a valid {spec.Type.ToString().ToLowerInvariant()}", node.Id, $"parameters.{name}"));
                    continue;
                }

                nodes[i] = node with { Parameters = new Dictionary<string, MetadataValue>(node.Parameters, StringComparer.Ordinal) { [name] = value } };
            }

            if (!matched)
            {
                errors.Add(new PipelineError(nodeId is null
                    ? $"--param {shownKey}: no node of pipeline '{definition.Name}' has a parameter {ErrorText.Quote(name)}"
                    : $"--param {shownKey}: pipeline '{definition.Name}' has no node {ErrorText.Quote(nodeId)}"));
            }
        }

        return errors.Count > 0 ? throw new PipelineValidationException(PipelineError.Cap(errors)) : definition with { Nodes = nodes };
    }

    /// <summary>
    /// Returns <paramref name="definition"/> with its data parameter (<see cref="DataParameter"/>) set to
    /// <paramref name="dataPath"/> (made absolute): how a run request's data location (<c>data</c>, <c>dataBlob</c>, an
    /// uploaded blob) reaches the pipeline. The path must still resolve inside an input root.
    /// </summary>
    /// <exception cref="PipelineValidationException">The pipeline has no path parameter to take it.</exception>
    /// <param name="definition">The pipeline.</param>
    /// <param name="dataPath">The data location.</param>
    /// <param name="registry">The components.</param>
    /// <param name="ownFolder">True when <paramref name="dataPath"/> is a file alone in a folder of its own (a downloaded
    /// blob): a data parameter that reads a folder (<see cref="ParameterUse.InputFolder"/>, e.g. CsvExampleGen's
    /// <c>input_base</c>) then takes that folder. Otherwise a file for a folder parameter is an error.</param>
    /// <exception cref="PipelineValidationException">The pipeline has no path parameter to take it, or it reads a folder and
    /// was given a file.</exception>
    public static PipelineDefinition WithData(PipelineDefinition definition, string dataPath, ComponentRegistry registry, bool ownFolder = false)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentException.ThrowIfNullOrEmpty(dataPath);
        var key = DataParameter(definition, registry)
            ?? throw new PipelineValidationException([new PipelineError($"pipeline '{definition.Name}' has no path parameter to take the data location", Field: "data")]);
        var dot = key.LastIndexOf('.');
        var (nodeId, name) = (key[..dot], key[(dot + 1)..]);
        var node = definition.Nodes.First(n => n.Id == nodeId);
        var spec = registry.Get(node.Component).Spec;
        var value = Path.GetFullPath(dataPath);
        var parameters = new Dictionary<string, MetadataValue>(node.Parameters, StringComparer.Ordinal);
        if (spec.FindParameter(name)!.Use == ParameterUse.InputFolder && File.Exists(value))
        {
            value = ownFolder
                ? Path.GetDirectoryName(value)!
                : throw new PipelineValidationException([new PipelineError(
                    $"'{name}' of component {node.Component} reads a folder, but the data location {ErrorText.Quote(value)} is a file: give its folder, or upload the file (dataBlob)", nodeId, $"parameters.{name}")]);
            if (spec.DataPattern is { } pattern)
            {
                parameters[pattern] = "*"; // the folder holds just the upload
            }
        }

        parameters[name] = value;
        return definition with { Nodes = definition.Nodes.Select(n => n.Id != nodeId ? n : n with { Parameters = parameters }).ToList() };
    }

    /// <summary>
    /// The parameter that a data location (an uploaded file, an HTTP body's <c>data</c>) sets: the first path parameter
    /// (a file or folder the node reads) of the first source node (one without inputs, e.g. <c>import.source</c>, an ExampleGen's <c>input_base</c>), in declaration order; null
    /// if none.
    /// </summary>
    /// <remarks>
    /// Only source nodes qualify: a downstream node's path parameter may name code (a Trainer's or Transform's
    /// <c>module_file</c>), and a blob anyone may upload must never become code the pipeline loads, whatever order the
    /// pipeline file declares its nodes in.
    /// </remarks>
    public static string? DataParameter(PipelineDefinition definition, ComponentRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(registry);
        foreach (var node in definition.Nodes)
        {
            if (node.Inputs.Count == 0 && registry.TryGet(node.Component, out var component)
                && component.Spec.Parameters.FirstOrDefault(p => p.Type == ParameterType.Path) is { } path)
            {
                return $"{node.Id}.{path.Name}";
            }
        }

        return null;
    }

    private static string Describe(ParameterUse use) => use switch
    {
        ParameterUse.InputPath or ParameterUse.InputFolder => "a file or folder it reads",
        ParameterUse.ServingPath => "a folder it writes models to",
        ParameterUse.ScratchPath => "a folder it writes to",
        ParameterUse.Limit => "a resource limit",
        _ => "text or a document",
    };

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

using System.Globalization;
using System.Text.Json;
using Serverless.Metadata;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Serverless.Pipelines;

/// <summary>The syntax of a pipeline file.</summary>
public enum PipelineFileFormat
{
    /// <summary>YAML (<c>.yaml</c>, <c>.yml</c>).</summary>
    Yaml,

    /// <summary>JSON (<c>.json</c>).</summary>
    Json,
}

/// <summary>The outcome of loading a pipeline file: a definition, or the errors (syntax or structure).</summary>
/// <param name="Definition">The loaded pipeline; null when there are errors.</param>
/// <param name="Errors">Every problem found; empty on success.</param>
public sealed record PipelineLoadResult(PipelineDefinition? Definition, IReadOnlyList<PipelineError> Errors)
{
    /// <summary>True when the file loaded.</summary>
    public bool IsSuccess => Definition is not null && Errors.Count == 0;

    /// <summary>Returns the definition or throws <see cref="PipelineValidationException"/> listing every error.</summary>
    public PipelineDefinition DefinitionOrThrow() => IsSuccess ? Definition! : throw new PipelineValidationException(Errors);
}

/// <summary>
/// Reads pipeline files (YAML or JSON, same structure; see the library README). A syntax error is reported
/// with the file, line, column and what the parser expected; a structural error (unknown field, wrong value
/// kind) with the file, line, node and field. Relative paths are resolved against the file's folder.
/// </summary>
public static class PipelineLoader
{
    private static readonly string[] PipelineFields = ["name", "nodes"];
    private static readonly string[] NodeFields = ["id", "component", "inputs", "parameters", "user_code", "retry", "approval", "pool", "cache"];
    private static readonly string[] RetryFields = ["max_attempts", "first_retry_interval", "backoff_coefficient", "max_retry_interval", "retry_timeout"];
    private static readonly string[] ApprovalFields = ["event", "timeout"];

    /// <summary>Loads and validates a pipeline file in one step.</summary>
    public static PipelineValidationResult LoadAndValidate(string path, ComponentRegistry registry, bool checkPaths = true)
    {
        var loaded = LoadFile(path);
        return loaded.IsSuccess
            ? PipelineValidator.Validate(loaded.Definition!, registry, checkPaths)
            : new PipelineValidationResult(null, loaded.Errors);
    }

    /// <summary>Loads a pipeline file; the format follows the extension (<c>.json</c> is JSON, anything else YAML).</summary>
    /// <param name="path">The file.</param>
    /// <param name="limits">Size, depth and alias bounds; default <see cref="PipelineLimits.Default"/>.</param>
    public static PipelineLoadResult LoadFile(string path, PipelineLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        limits ??= PipelineLimits.Default;
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            return new PipelineLoadResult(null, [new PipelineError("pipeline file does not exist", File: fullPath)]);
        }

        var length = new FileInfo(fullPath).Length;
        if (length > limits.MaxPipelineFileBytes)
        {
            return new PipelineLoadResult(null, [new PipelineError(
                $"the file is {length} bytes, more than the limit of {limits.MaxPipelineFileBytes} (host.json extensions.pipelines.limits.maxPipelineFileBytes)", File: fullPath)]);
        }

        var format = string.Equals(Path.GetExtension(fullPath), ".json", StringComparison.OrdinalIgnoreCase) ? PipelineFileFormat.Json : PipelineFileFormat.Yaml;
        return Parse(File.ReadAllText(fullPath), format, fullPath, Path.GetDirectoryName(fullPath), limits);
    }

    /// <summary>Parses pipeline text.</summary>
    /// <param name="text">The file content.</param>
    /// <param name="format">YAML or JSON.</param>
    /// <param name="sourceName">The file name for error messages.</param>
    /// <param name="baseDirectory">The folder relative paths are resolved against; the current directory when null.</param>
    /// <param name="limits">Size, depth, alias, node and parameter bounds; default <see cref="PipelineLimits.Default"/>.</param>
    public static PipelineLoadResult Parse(string text, PipelineFileFormat format, string? sourceName = null, string? baseDirectory = null, PipelineLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        limits ??= PipelineLimits.Default;
        var file = sourceName ?? "<pipeline>";
        if (text.Length > limits.MaxPipelineFileBytes)
        {
            return new PipelineLoadResult(null, [new PipelineError(
                $"the text is {text.Length} characters, more than the limit of {limits.MaxPipelineFileBytes} (host.json extensions.pipelines.limits.maxPipelineFileBytes)", File: file)]);
        }

        YamlNode? root;
        try
        {
            if (format == PipelineFileFormat.Json)
            {
                root = ParseJson(text, limits);
            }
            else if (YamlGuard.Check(text, limits, file) is { } tooMuch)
            {
                return new PipelineLoadResult(null, [tooMuch]);
            }
            else
            {
                root = ParseYaml(text);
            }
        }
        catch (YamlException e)
        {
            return new PipelineLoadResult(null, [new PipelineError(
                $"YAML syntax error: {YamlMessage(e)}", File: file, Line: (int)e.Start.Line, Column: (int)e.Start.Column)]);
        }
        catch (Exception e) when (format == PipelineFileFormat.Yaml && e is ArgumentException or InvalidOperationException)
        {
            // YamlDotNet's node model rejects some event sequences its parser accepted with a non-YAML exception.
            return new PipelineLoadResult(null, [new PipelineError($"YAML structure error: {ErrorText.Quote(e.Message, 200)}", File: file, Line: 1, Column: 1)]);
        }
        catch (JsonException e)
        {
            return new PipelineLoadResult(null, [new PipelineError(
                $"JSON syntax error: {JsonMessage(e)}", File: file, Line: (int)(e.LineNumber ?? 0) + 1, Column: (int)(e.BytePositionInLine ?? 0) + 1)]);
        }

        var reader = new Reader(file, limits);
        var definition = reader.ReadPipeline(root, baseDirectory);
        return reader.Errors.Count == 0
            ? new PipelineLoadResult(definition, [])
            : new PipelineLoadResult(null, PipelineError.Cap(reader.Errors));
    }

    private static YamlNode? ParseYaml(string text)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(text);
        stream.Load(reader);
        return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
    }

    private static YamlNode ParseJson(string text, PipelineLimits limits)
    {
        // JsonDocument counts depth itself (no recursion past the limit), so ToYaml below recurses at most that deep.
        using var document = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = limits.MaxNestingDepth });
        return ToYaml(document.RootElement);
    }

    // JSON is mapped onto the YAML node model so one reader handles both; strings stay quoted scalars.
    // A string JSON allows but .NET cannot hold (a lone surrogate escape, "\ud800") is kept in its escaped form.
    private static YamlNode ToYaml(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => new YamlMappingNode(element.EnumerateObject().Select(p =>
            new KeyValuePair<YamlNode, YamlNode>(new YamlScalarNode(Text(() => p.Name, () => "(invalid name)")), ToYaml(p.Value)))),
        JsonValueKind.Array => new YamlSequenceNode(element.EnumerateArray().Select(ToYaml)),
        JsonValueKind.String => new YamlScalarNode(Text(element.GetString, () => element.GetRawText().Trim('"'))) { Style = ScalarStyle.DoubleQuoted },
        JsonValueKind.Null => new YamlScalarNode("null"),
        _ => new YamlScalarNode(element.GetRawText()),
    };

    private static string Text(Func<string?> read, Func<string> raw)
    {
        try
        {
            return read() ?? string.Empty;
        }
        catch (InvalidOperationException)
        {
            return raw();
        }
    }

    private static string YamlMessage(YamlException e)
    {
        // YamlDotNet prefixes the message with the location; we report the location separately.
        var message = e.Message;
        var marker = message.IndexOf("): ", StringComparison.Ordinal);
        return (message.StartsWith('(') && marker > 0 ? message[(marker + 3)..] : message).TrimEnd('.');
    }

    private static string JsonMessage(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = message.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        }

        return (cut > 0 ? message[..cut] : message).TrimEnd('.', ' ', '|');
    }

    private sealed class Reader(string file, PipelineLimits limits)
    {
        public List<PipelineError> Errors { get; } = [];

        private void Error(YamlNode? at, string message, string? node = null, string? field = null) =>
            Errors.Add(new PipelineError(message, ErrorText.Clip(node), ErrorText.Clip(field), file, Line(at), Column(at)));

        private static int? Line(YamlNode? node) => node is null || node.Start.Line <= 0 ? null : (int)node.Start.Line;

        private static int? Column(YamlNode? node) => node is null || node.Start.Line <= 0 ? null : (int)node.Start.Column;

        public PipelineDefinition? ReadPipeline(YamlNode? root, string? baseDirectory)
        {
            if (root is null)
            {
                Errors.Add(new PipelineError("the file is empty: expected a mapping with 'name' and 'nodes'", File: file, Line: 1, Column: 1));
                return null;
            }

            if (root is not YamlMappingNode map)
            {
                Error(root, "expected a mapping with 'name' and 'nodes' at the top of the file");
                return null;
            }

            CheckFields(map, PipelineFields, null, null);
            var name = Scalar(map, "name", null, required: true);
            var nodes = new List<NodeDefinition>();
            if (Child(map, "nodes") is { } nodesNode)
            {
                if (nodesNode is YamlSequenceNode { Children.Count: var count } && count > limits.MaxNodes)
                {
                    Error(nodesNode, $"the pipeline has {count} nodes, more than the limit of {limits.MaxNodes} (host.json extensions.pipelines.limits.maxNodes)", field: "nodes");
                }
                else if (nodesNode is YamlSequenceNode sequence)
                {
                    var index = 0;
                    foreach (var item in sequence)
                    {
                        if (ReadNode(item, index++) is { } node)
                        {
                            nodes.Add(node);
                        }
                    }
                }
                else
                {
                    Error(nodesNode, "expected a list of nodes", field: "nodes");
                }
            }
            else
            {
                Error(map, "missing field 'nodes'", field: "nodes");
            }

            return new PipelineDefinition { Name = name ?? string.Empty, Nodes = nodes, BaseDirectory = baseDirectory, SourceFile = file };
        }

        private NodeDefinition? ReadNode(YamlNode item, int index)
        {
            if (item is not YamlMappingNode map)
            {
                Error(item, $"expected a node (a mapping with 'id' and 'component'), item {index} of 'nodes'", field: $"nodes[{index}]");
                return null;
            }

            var id = Scalar(map, "id", null, required: true, fieldPrefix: $"nodes[{index}].");
            var label = id ?? $"nodes[{index}]";
            CheckFields(map, NodeFields, label, null);
            var component = Scalar(map, "component", label, required: true);

            var inputs = new Dictionary<string, ChannelRef>(StringComparer.Ordinal);
            if (Mapping(map, "inputs", label) is { } inputMap)
            {
                foreach (var (key, value) in inputMap.Children)
                {
                    if (KeyName(key, label, "inputs") is not { } channel)
                    {
                        continue;
                    }

                    if (value is YamlScalarNode { Value: { } text } && ChannelRef.TryParse(text, out var reference))
                    {
                        inputs[channel] = reference;
                    }
                    else
                    {
                        Error(value, "expected 'node.output', the producing node's id and output name", label, $"inputs.{channel}");
                    }
                }
            }

            var parameters = new Dictionary<string, MetadataValue>(StringComparer.Ordinal);
            if (Mapping(map, "parameters", label) is { } parameterMap)
            {
                foreach (var (key, value) in parameterMap.Children)
                {
                    if (KeyName(key, label, "parameters") is not { } name)
                    {
                        continue;
                    }

                    if (value is YamlScalarNode { Value.Length: var length } && length > limits.MaxParameterLength)
                    {
                        Error(value, $"the value is {length} characters, more than the limit of {limits.MaxParameterLength} (host.json extensions.pipelines.limits.maxParameterLength): {ErrorText.Quote(((YamlScalarNode)value).Value)}", label, $"parameters.{name}");
                    }
                    else if (value is YamlScalarNode scalar && ToValue(scalar) is { } parsed)
                    {
                        parameters[name] = parsed;
                    }
                    else
                    {
                        Error(value, "expected a single value (string, number or true/false)", label, $"parameters.{name}");
                    }
                }
            }

            var userCode = new List<string>();
            if (Child(map, "user_code") is { } codeNode)
            {
                if (codeNode is YamlScalarNode { Value: { Length: > 0 } one })
                {
                    userCode.Add(one);
                }
                else if (codeNode is YamlSequenceNode many && many.All(n => n is YamlScalarNode { Value.Length: > 0 }))
                {
                    userCode.AddRange(many.Select(n => ((YamlScalarNode)n).Value!));
                }
                else
                {
                    Error(codeNode, "expected a path or a list of paths", label, "user_code");
                }
            }

            RetrySettings? retry = null;
            if (Mapping(map, "retry", label) is { } retryMap)
            {
                CheckFields(retryMap, RetryFields, label, "retry.");
                var attempts = Scalar(retryMap, "max_attempts", label, required: true, fieldPrefix: "retry.");
                var first = Duration(retryMap, "first_retry_interval", label, "retry.");
                var coefficient = Scalar(retryMap, "backoff_coefficient", label, required: false, fieldPrefix: "retry.");
                var max = Duration(retryMap, "max_retry_interval", label, "retry.");
                var timeout = Duration(retryMap, "retry_timeout", label, "retry.");
                var attemptCount = 1;
                var backoff = 1.0;
                if (attempts is not null && !int.TryParse(attempts, NumberStyles.Integer, CultureInfo.InvariantCulture, out attemptCount))
                {
                    Error(Child(retryMap, "max_attempts"), "expected a whole number", label, "retry.max_attempts");
                }

                if (coefficient is not null && !double.TryParse(coefficient, NumberStyles.Float, CultureInfo.InvariantCulture, out backoff))
                {
                    Error(Child(retryMap, "backoff_coefficient"), "expected a number", label, "retry.backoff_coefficient");
                }

                if (first is null && Child(retryMap, "first_retry_interval") is null)
                {
                    Error(retryMap, "missing field 'first_retry_interval'", label, "retry.first_retry_interval");
                }

                retry = new RetrySettings(attemptCount, first ?? TimeSpan.Zero, backoff, max, timeout);
            }

            ApprovalGate? approval = null;
            if (Mapping(map, "approval", label) is { } approvalMap)
            {
                CheckFields(approvalMap, ApprovalFields, label, "approval.");
                var eventName = Scalar(approvalMap, "event", label, required: true, fieldPrefix: "approval.");
                var timeout = Duration(approvalMap, "timeout", label, "approval.");
                if (timeout is null && Child(approvalMap, "timeout") is null)
                {
                    Error(approvalMap, "missing field 'timeout'", label, "approval.timeout");
                }

                approval = new ApprovalGate(eventName ?? string.Empty, timeout ?? TimeSpan.Zero);
            }

            var pool = Scalar(map, "pool", label, required: false) ?? "default";
            var cache = true;
            if (Scalar(map, "cache", label, required: false) is { } cacheText && !bool.TryParse(cacheText, out cache))
            {
                Error(Child(map, "cache"), "expected true or false", label, "cache");
            }

            return new NodeDefinition
            {
                Id = id ?? string.Empty,
                Component = component ?? string.Empty,
                Inputs = inputs,
                Parameters = parameters,
                UserCode = userCode,
                Retry = retry,
                Approval = approval,
                Pool = pool,
                EnableCache = cache,
                SourceLine = Line(map),
            };
        }

        private void CheckFields(YamlMappingNode map, string[] known, string? node, string? prefix)
        {
            foreach (var key in map.Children.Keys)
            {
                var name = (key as YamlScalarNode)?.Value;
                if (name is null || !known.Contains(name, StringComparer.Ordinal))
                {
                    Error(key, $"unknown field {ErrorText.Quote(name ?? "(not a name)")} (expected one of: {string.Join(", ", known)})", node, prefix + name);
                }
            }
        }

        // Mapping keys must be plain names; a list or mapping as a key is an error, not a crash.
        private string? KeyName(YamlNode key, string node, string field)
        {
            if (key is YamlScalarNode { Value: { Length: > 0 } name })
            {
                return name;
            }

            Error(key, "expected a name as the key", node, field);
            return null;
        }

        private static YamlNode? Child(YamlMappingNode map, string key) =>
            map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

        private string? Scalar(YamlMappingNode map, string key, string? node, bool required, string fieldPrefix = "")
        {
            var value = Child(map, key);
            if (value is null)
            {
                if (required)
                {
                    Error(map, $"missing field '{key}'", node, fieldPrefix + key);
                }

                return null;
            }

            if (value is YamlScalarNode { Value: { Length: > 0 } text })
            {
                return text;
            }

            Error(value, "expected a non-empty value", node, fieldPrefix + key);
            return null;
        }

        private YamlMappingNode? Mapping(YamlMappingNode map, string key, string node)
        {
            var value = Child(map, key);
            if (value is null || value is YamlMappingNode)
            {
                return (YamlMappingNode?)value;
            }

            Error(value, "expected a mapping", node, key);
            return null;
        }

        private TimeSpan? Duration(YamlMappingNode map, string key, string node, string prefix)
        {
            var text = Scalar(map, key, node, required: false, prefix);
            if (text is null)
            {
                return null;
            }

            if (Durations.TryParse(text, out var value))
            {
                return value;
            }

            Error(Child(map, key), $"expected a duration such as 30s, 5m, 2h, 1d, 500ms or 00:05:00, not {ErrorText.Quote(text)}", node, prefix + key);
            return TimeSpan.Zero;
        }

        private static MetadataValue? ToValue(YamlScalarNode scalar)
        {
            var text = scalar.Value ?? string.Empty;
            if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
            {
                return MetadataValue.FromString(text);
            }

            if (text is "null" or "~" or "")
            {
                return null;
            }

            if (bool.TryParse(text, out var flag))
            {
                return MetadataValue.FromBool(flag);
            }

            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            {
                return MetadataValue.FromInt(integer);
            }

            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
            {
                return MetadataValue.FromDouble(number);
            }

            return MetadataValue.FromString(text);
        }
    }
}

/// <summary>Durations as written in pipeline files: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>1d</c>, a
/// bare number of seconds, or <c>hh:mm:ss</c>.</summary>
public static class Durations
{
    /// <summary>Parses a duration; false when the text is not one.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        (string Suffix, double Seconds)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)];
        foreach (var (suffix, seconds) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount)
                && double.IsFinite(amount))
            {
                value = TimeSpan.FromSeconds(amount * seconds);
                return true;
            }
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var bare) && double.IsFinite(bare))
        {
            value = TimeSpan.FromSeconds(bare);
            return true;
        }

        return text.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value);
    }
}

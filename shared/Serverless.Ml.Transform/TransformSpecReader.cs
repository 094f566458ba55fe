using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Serverless.Ml.Transform;

/// <summary>
/// Reads transform specs from YAML or JSON text within <see cref="TransformSpecLimits"/>, and turns every problem into a
/// <see cref="TransformSpecFormatException"/> with the source, line and column.
/// YAML is read from YamlDotNet's event parser (which keeps its own state on the heap) into JSON nodes with an
/// explicit stack, never by recursion on the document's depth: a spec nested 100,000 deep fails at depth
/// <see cref="TransformSpecLimits.MaxDepth"/> with its position, instead of overflowing the stack. Aliases are counted
/// and their expansion is charged (nodes and characters) before it happens, so a "billion laughs" fails at the alias
/// that would pass the bound. The position of every node is kept by its path, so an error found later, when the
/// nodes are bound to <see cref="TransformSpec"/>, still names the line and column it came from.
/// JSON is read by System.Text.Json (depth-limited, iterative), whose errors carry line and byte position.
/// </summary>
internal static partial class TransformSpecReader
{
    /// <summary>Most characters of a value quoted in an error.</summary>
    private const int QuoteLimit = 40;

    /// <summary>The spec options, stricter than the fitted transform's: a key the spec does not know is an error, not ignored.</summary>
    private static readonly JsonSerializerOptions SpecOptions = new(TransformSpec.JsonOptions)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Reads a spec file by its extension (<c>.yaml</c> / <c>.yml</c>, else JSON); the size is checked before reading.</summary>
    public static TransformSpec Load(string path, TransformSpecLimits limits)
    {
        var length = new FileInfo(path).Length;
        if (length > limits.MaxSize)
        {
            throw new TransformSpecFormatException(path, 1, 1, $"the spec file has {length} bytes, more than {nameof(TransformSpecLimits.MaxSize)} ({limits.MaxSize}); raise {nameof(TransformSpecLimits)}.{nameof(TransformSpecLimits.MaxSize)} if it is meant to be that large");
        }
        var text = File.ReadAllText(path);
        var ext = Path.GetExtension(path).ToLowerInvariant();
        return ext is ".yaml" or ".yml" ? FromYaml(text, path, limits) : FromJson(text, path, limits);
    }

    public static TransformSpec FromJson(string json, string origin, TransformSpecLimits limits)
    {
        CheckSize(json, origin, limits);
        TransformSpec? spec;
        try
        {
            spec = JsonSerializer.Deserialize<TransformSpec>(json, new JsonSerializerOptions(SpecOptions) { MaxDepth = limits.MaxDepth });
        }
        catch (JsonException e)
        {
            throw new TransformSpecFormatException(origin, (e.LineNumber ?? 0) + 1, (e.BytePositionInLine ?? 0) + 1, Reason(e), e);
        }
        if (spec is null) throw new TransformSpecFormatException(origin, 1, 1, "the transform spec is empty (null)");
        var features = JsonPropertyPosition(json, "features");
        if (spec.Features?.Count > limits.MaxFeatures)
        {
            throw TooManyFeatures(origin, features.Line, features.Column, spec.Features.Count, limits);
        }
        // System.Text.Json has no positions after binding: empty entries are placed at the features key.
        CheckEntries(spec, origin, _ => features);
        return spec;
    }

    public static TransformSpec FromYaml(string yaml, string origin, TransformSpecLimits limits)
    {
        CheckSize(yaml, origin, limits);
        var (root, positions) = new YamlToJson(origin, limits).Read(yaml);
        (long Line, long Column) At(string path)
        {
            // The node itself, or the nearest enclosing one that was recorded.
            for (var p = path; ; p = Parent(p))
            {
                if (positions.TryGetValue(p, out var mark)) return mark;
                if (p.Length == 0) return (1, 1);
            }
        }
        if (root is null) throw new TransformSpecFormatException(origin, 1, 1, "the transform spec is empty");
        if (root is not JsonObject) throw new TransformSpecFormatException(origin, At("").Line, At("").Column, "a transform spec is a mapping with 'features' (and optionally 'label')");
        if (root["features"] is JsonArray features && features.Count > limits.MaxFeatures)
        {
            var (line, column) = At(".features");
            throw TooManyFeatures(origin, line, column, features.Count, limits);
        }
        TransformSpec spec;
        try
        {
            spec = root.Deserialize<TransformSpec>(SpecOptions) ?? throw new TransformSpecFormatException(origin, 1, 1, "the transform spec is empty");
        }
        catch (JsonException e)
        {
            var path = NormalizePath(e.Path);
            var (line, column) = At(path);
            throw new TransformSpecFormatException(origin, line, column, Reason(e), e);
        }
        CheckEntries(spec, origin, At);
        return spec;
    }

    /// <summary>Empty (null) entries where the spec needs values: the features list, a feature, a cross component.</summary>
    private static void CheckEntries(TransformSpec spec, string origin, Func<string, (long Line, long Column)> at)
    {
        TransformSpecFormatException Empty(string path, string what)
        {
            var (line, column) = at(path);
            return new TransformSpecFormatException(origin, line, column, $"'{path.TrimStart('.')}': {what}");
        }
        if (spec.Features is null) throw Empty(".features", "'features' must be a list of features, not empty");
        for (var i = 0; i < spec.Features.Count; i++)
        {
            var f = spec.Features[i] ?? throw Empty(string.Create(CultureInfo.InvariantCulture, $".features[{i}]"), "an empty feature entry");
            for (var j = 0; j < (f.Components?.Count ?? 0); j++)
            {
                if (f.Components![j] is null) throw Empty(string.Create(CultureInfo.InvariantCulture, $".features[{i}].components[{j}]"), "an empty component");
            }
        }
    }

    private static void CheckSize(string text, string origin, TransformSpecLimits limits)
    {
        if (text.Length > limits.MaxSize)
        {
            throw new TransformSpecFormatException(origin, 1, 1, $"the spec has {text.Length} characters, more than {nameof(TransformSpecLimits.MaxSize)} ({limits.MaxSize}); raise {nameof(TransformSpecLimits)}.{nameof(TransformSpecLimits.MaxSize)} if it is meant to be that large");
        }
    }

    private static TransformSpecFormatException TooManyFeatures(string origin, long line, long column, int count, TransformSpecLimits limits) =>
        new(origin, line, column, $"the spec has {count} features, more than {nameof(TransformSpecLimits.MaxFeatures)} ({limits.MaxFeatures}); each costs analyzer memory while fitting, so raise {nameof(TransformSpecLimits)}.{nameof(TransformSpecLimits.MaxFeatures)} only when the data really has that many");

    /// <summary>
    /// System.Text.Json's message without its own location suffix, with our names: an unknown enum value lists the
    /// accepted ones, an unknown key says so.
    /// </summary>
    private static string Reason(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut >= 0) message = message[..cut];
        var path = NormalizePath(e.Path).TrimStart('.');
        var where = path.Length == 0 ? string.Empty : $"'{path}': ";
        if (UnmappedMember().Match(message) is { Success: true } unmapped)
            return $"{where}unknown key '{Quote(unmapped.Groups[1].Value)}' (keys are camelCase, e.g. 'numOovBuckets'; see the Transform README)";
        var convert = ConvertTo().Match(message);
        if (!convert.Success) return where + message;
        var type = convert.Groups[1].Value.TrimEnd('.');
        if (EnumType(type) is { } enumType)
            return $"{where}not a valid {Humanize(enumType.Name)}: use one of {string.Join(", ", Enum.GetNames(enumType).Select(n => JsonNamingPolicy.SnakeCaseLower.ConvertName(n)))}";
        var expected = type.Split('.')[^1] switch
        {
            "Int32" or "Int64" => "an integer",
            "Double" => "a number",
            "Boolean" => "true or false",
            "String" => "text",
            var t when t.Contains("List", StringComparison.Ordinal) => "a sequence",
            _ => "a mapping",
        };
        return $"{where}expected {expected}";
    }

    private static Type? EnumType(string name) =>
        new[] { typeof(FeatureKind), typeof(CategoricalEncoding), typeof(FillStrategy), typeof(LabelKind) }.FirstOrDefault(t => t.FullName == name);

    private static string Humanize(string typeName) => JsonNamingPolicy.SnakeCaseLower.ConvertName(typeName).Replace('_', ' ');

    [GeneratedRegex("The JSON property '(.*)' could not be mapped to any \\.NET member")]
    private static partial Regex UnmappedMember();

    [GeneratedRegex("could not be converted to (?:System\\.Nullable`1\\[)?([A-Za-z0-9_.`]+)")]
    private static partial Regex ConvertTo();

    /// <summary>At most <see cref="QuoteLimit"/> characters of a value, control characters escaped: errors never echo a whole input.</summary>
    internal static string Quote(string value)
    {
        var s = value.Length > QuoteLimit ? value[..QuoteLimit] + "..." : value;
        var sb = new StringBuilder(s.Length);
        foreach (var ch in s) sb.Append(char.IsControl(ch) ? $"\\u{(int)ch:x4}" : ch);
        return sb.ToString();
    }

    /// <summary>"$.features[3].kind" or "$['a b'][0]" as our node paths: ".features[3].kind", ".a b[0]".</summary>
    private static string NormalizePath(string? path)
    {
        if (string.IsNullOrEmpty(path)) return string.Empty;
        var p = path.StartsWith('$') ? path[1..] : path;
        return BracketName().Replace(p, m => "." + m.Groups[1].Value.Replace("\\'", "'", StringComparison.Ordinal));
    }

    [GeneratedRegex("\\['((?:[^'\\\\]|\\\\.)*)'\\]")]
    private static partial Regex BracketName();

    /// <summary>The path of the node enclosing the one at <paramref name="path"/> ("" for the root).</summary>
    private static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? string.Empty : path[..cut];
    }

    /// <summary>Line and byte column of a top-level JSON property's name (1, 1 when absent).</summary>
    private static (long Line, long Column) JsonPropertyPosition(string json, string name)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals(name))
            {
                var start = (int)reader.TokenStartIndex;
                var line = 1 + bytes.AsSpan(0, start).Count((byte)'\n');
                var lineStart = bytes.AsSpan(0, start).LastIndexOf((byte)'\n') + 1;
                return (line, start - lineStart + 1);
            }
        }
        return (1, 1);
    }

    /// <summary>One YAML document to JSON nodes, iteratively, within the limits.</summary>
    private sealed class YamlToJson(string origin, TransformSpecLimits limits)
    {
        private readonly Dictionary<string, (long Line, long Column)> _positions = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Anchored> _anchors = new(StringComparer.Ordinal);
        private readonly Stack<Frame> _stack = new();
        private long _nodes;
        private long _chars;
        private int _aliases;
        private JsonNode? _root;
        private bool _done;

        public (JsonNode? Root, Dictionary<string, (long Line, long Column)> Positions) Read(string yaml)
        {
            var parser = new Parser(new StringReader(yaml));
            (long Line, long Column) last = (1, 1);
            bool Next()
            {
                try
                {
                    return parser.MoveNext();
                }
                catch (YamlException e)
                {
                    throw new TransformSpecFormatException(origin, e.Start.Line, e.Start.Column, YamlReason(e.Message), e);
                }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException or OverflowException)
                {
                    // YamlDotNet's scanner throws these for some malformed input (found by the fuzz test): still bad
                    // input, so still an error with a place, the end of the last good token.
                    throw new TransformSpecFormatException(origin, last.Line, last.Column, $"unreadable YAML after this point ({e.GetType().Name}: {Quote(e.Message)})", e);
                }
            }
            while (!_done && Next())
            {
                var ev = parser.Current!;
                last = (ev.End.Line, ev.End.Column);
                switch (ev)
                {
                    case StreamStart or DocumentStart:
                        break;
                    case DocumentEnd or StreamEnd:
                        _done = true; // the first document is the spec
                        break;
                    case Scalar scalar when ExpectingKey:
                        Key(scalar);
                        break;
                    case Scalar scalar:
                        Charge(ev, 1, scalar.Value.Length, 0);
                        Complete(Value(scalar), Path(), ev, scalar.Anchor, 1, scalar.Value.Length, 0);
                        break;
                    case AnchorAlias alias:
                        Alias(alias);
                        break;
                    case MappingStart or SequenceStart when ExpectingKey:
                        throw Error(ev, "a mapping or sequence cannot be a key");
                    case MappingStart start:
                        Open(ev, new JsonObject(), start.Anchor);
                        break;
                    case SequenceStart start:
                        Open(ev, new JsonArray(), start.Anchor);
                        break;
                    case MappingEnd or SequenceEnd:
                        Close();
                        break;
                }
            }
            return (_root, _positions);
        }

        private bool ExpectingKey => _stack.Count > 0 && _stack.Peek().Node is JsonObject && _stack.Peek().Key is null;

        private void Key(Scalar scalar)
        {
            var frame = _stack.Peek();
            var obj = (JsonObject)frame.Node;
            if (obj.ContainsKey(scalar.Value)) throw Error(scalar, $"the key '{Quote(scalar.Value)}' appears twice in one mapping");
            Charge(scalar, 0, scalar.Value.Length, 0);
            frame.Key = scalar.Value;
        }

        private void Open(ParsingEvent ev, JsonNode node, AnchorName anchor)
        {
            if (_stack.Count + 1 > limits.MaxDepth)
            {
                throw Error(ev, $"nesting deeper than {nameof(TransformSpecLimits.MaxDepth)} ({limits.MaxDepth}); a transform spec needs 4 levels");
            }
            Charge(ev, 1, 0, 0);
            var path = Path();
            _positions[path] = Mark(ev);
            _stack.Push(new Frame(node, path, anchor, _nodes, _chars));
        }

        private void Close()
        {
            var frame = _stack.Pop();
            Complete(frame.Node, frame.Path, null, frame.Anchor, _nodes - frame.NodesBefore + 1, _chars - frame.CharsBefore, frame.ChildDepth + 1);
        }

        private void Alias(AnchorAlias alias)
        {
            if (ExpectingKey) throw Error(alias, "an alias cannot be a key");
            if (++_aliases > limits.MaxAliases)
            {
                throw Error(alias, $"more than {nameof(TransformSpecLimits.MaxAliases)} ({limits.MaxAliases}) YAML aliases");
            }
            if (!_anchors.TryGetValue(alias.Value.Value, out var target))
            {
                throw Error(alias, $"the alias '*{Quote(alias.Value.Value)}' refers to no anchor defined before it");
            }
            // Charged before anything is copied: an exponential expansion stops here, at its first step past a bound.
            Charge(alias, target.Nodes, target.Chars, target.Depth);
            Complete(target.Node?.DeepClone(), Path(), alias, AnchorName.Empty, target.Nodes, target.Chars, target.Depth);
        }

        /// <summary>Counts a node (or an alias's copy) against the bounds before it is built.</summary>
        private void Charge(ParsingEvent ev, long nodes, long chars, int depth)
        {
            _nodes += nodes;
            _chars += chars;
            if (_nodes > limits.MaxNodes)
            {
                throw Error(ev, $"more than {nameof(TransformSpecLimits.MaxNodes)} ({limits.MaxNodes}) nodes" + (ev is AnchorAlias ? " once YAML aliases are expanded" : string.Empty));
            }
            if (_chars > limits.MaxSize)
            {
                throw Error(ev, $"more than {nameof(TransformSpecLimits.MaxSize)} ({limits.MaxSize}) characters" + (ev is AnchorAlias ? " once YAML aliases are expanded" : string.Empty));
            }
            if (_stack.Count + depth > limits.MaxDepth)
            {
                throw Error(ev, $"nesting deeper than {nameof(TransformSpecLimits.MaxDepth)} ({limits.MaxDepth}) once the alias is expanded");
            }
        }

        /// <summary>A finished node: into its parent (or as the root), remembered under its anchor.</summary>
        private void Complete(JsonNode? node, string path, ParsingEvent? ev, AnchorName anchor, long nodes, long chars, int depth)
        {
            if (ev is not null) _positions[path] = Mark(ev);
            if (!anchor.IsEmpty) _anchors[anchor.Value] = new Anchored(node, nodes, chars, depth);
            if (_stack.Count == 0)
            {
                _root = node;
                return;
            }
            var parent = _stack.Peek();
            parent.ChildDepth = Math.Max(parent.ChildDepth, depth);
            if (parent.Node is JsonObject obj)
            {
                obj[parent.Key!] = node;
                parent.Key = null;
            }
            else
            {
                ((JsonArray)parent.Node).Add(node);
            }
        }

        /// <summary>The path of the node about to be added to the open container.</summary>
        private string Path()
        {
            if (_stack.Count == 0) return string.Empty;
            var parent = _stack.Peek();
            return parent.Node is JsonObject ? $"{parent.Path}.{parent.Key}" : string.Create(CultureInfo.InvariantCulture, $"{parent.Path}[{((JsonArray)parent.Node).Count}]");
        }

        /// <summary>Plain scalars that look like null, booleans or numbers are typed; quoted ones are text.</summary>
        private static JsonNode? Value(Scalar scalar)
        {
            var s = scalar.Value;
            if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded) return JsonValue.Create(s);
            if (s is "null" or "~" or "") return null;
            if (s is "true" or "false") return JsonValue.Create(s == "true");
            if (long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
            if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return JsonValue.Create(d);
            return JsonValue.Create(s);
        }

        private static (long Line, long Column) Mark(ParsingEvent ev) => (ev.Start.Line, ev.Start.Column);

        private TransformSpecFormatException Error(ParsingEvent ev, string reason) => new(origin, ev.Start.Line, ev.Start.Column, reason);

        /// <summary>YamlDotNet's message without its "(Line: 3, Col: 5, Idx: 20) - (...): " prefix (the place is ours).</summary>
        private static string YamlReason(string message)
        {
            var cut = message.IndexOf("): ", StringComparison.Ordinal);
            return message.StartsWith("(Line:", StringComparison.Ordinal) && cut > 0 ? message[(cut + 3)..] : message;
        }

        private sealed record Anchored(JsonNode? Node, long Nodes, long Chars, int Depth);

        private sealed class Frame(JsonNode node, string path, AnchorName anchor, long nodesBefore, long charsBefore)
        {
            public JsonNode Node { get; } = node;

            public string Path { get; } = path;

            public AnchorName Anchor { get; } = anchor;

            public long NodesBefore { get; } = nodesBefore;

            public long CharsBefore { get; } = charsBefore;

            public string? Key { get; set; }

            public int ChildDepth { get; set; }
        }
    }
}

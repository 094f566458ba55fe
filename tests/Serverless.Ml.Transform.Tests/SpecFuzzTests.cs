using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Serverless.Ml.Data;
using static Serverless.Ml.Transform.Tests.TestData;

namespace Serverless.Ml.Transform.Tests;

/// <summary>
/// Issue 18: random transform specs (YAML and JSON from a grammar of the spec's own keys and values, with anchors,
/// aliases and deep nesting, then character-level damage) fed to the reader, the validator and the estimator. Each
/// either works or fails with a <see cref="TransformSpecFormatException"/> naming the place (or, against data, a
/// <see cref="TransformSpecException"/> naming the feature); nothing else escapes and nothing ends the process.
/// A failing case prints FsCheck's seed for replay. Small and fast: a few hundred specs, a second or two.
/// </summary>
public sealed class SpecFuzzTests
{
    private static readonly TableSchema Schema = TestData.Schema(Doubles("x", 1, 2, 3), Strings("s", "a", "b"), Longs("n", 1, 2));

    [Property(Arbitrary = new[] { typeof(SpecArbitraries) }, MaxTest = 300)]
    public void FromYaml_RandomSpec_ReadsOrNamesThePlace(YamlText input) => Check(input.Text, yaml: true);

    [Property(Arbitrary = new[] { typeof(SpecArbitraries) }, MaxTest = 300)]
    public void FromJson_RandomSpec_ReadsOrNamesThePlace(JsonText input) => Check(input.Text, yaml: false);

    [Property(Arbitrary = new[] { typeof(SpecArbitraries) }, MaxTest = 300)]
    public void FromYaml_SpecShapedRandomSpec_ReadsValidatesAndFitsOrNamesTheProblem(SpecShaped input)
    {
        Check(input.Text, yaml: true);
        if (TryRead(input.Text) is { } spec && new TransformEstimator(spec).Validate(Schema).Count == 0)
        {
            // A valid spec also fits and applies on real (tiny) data.
            var batch = new RecordBatch(Schema, [
                new Float64Column(Schema.Columns[0], [1, double.NaN, 3], [false, false, true], 3),
                new StringColumn(Schema.Columns[1], [0, 1, 0], ["a", "b"], [false, false, true], 3),
                new Int64Column(Schema.Columns[2], [1, 2, 0], [false, false, true], 3),
            ], 3);
            var fitted = new TransformEstimator(spec).Fit(Schema, [batch]);
            Assert.Equal(3L * fitted.Width, fitted.Apply(batch).Features.LongLength);
        }
    }

    private static TransformSpec? TryRead(string yaml)
    {
        try
        {
            return TransformSpec.FromYaml(yaml);
        }
        catch (TransformSpecFormatException)
        {
            return null;
        }
    }

    private static void Check(string text, bool yaml)
    {
        const string origin = "fuzz spec";
        TransformSpec spec;
        try
        {
            spec = yaml ? TransformSpec.FromYaml(text, origin: origin) : TransformSpec.FromJson(text, origin: origin);
        }
        catch (TransformSpecFormatException e)
        {
            Assert.StartsWith($"{origin}: line ", e.Message, StringComparison.Ordinal);
            Assert.True(e.Line >= 1 && e.Column >= 1, e.Message);
            Assert.True(e.Message.Length < 2000, $"an error of {e.Message.Length} characters");
            return;
        }
        var estimator = new TransformEstimator(spec);
        _ = estimator.Validate(Schema);
        try
        {
            var accumulator = estimator.CreateAccumulator(Schema);
            Assert.NotNull(accumulator);
        }
        catch (TransformSpecException e)
        {
            Assert.NotEmpty(e.Errors);
        }
    }

    /// <summary>A YAML text to read.</summary>
    public sealed record YamlText(string Text)
    {
        public override string ToString() => Text;
    }

    /// <summary>A YAML text shaped like a spec (its keys and values, sometimes wrong), to read, validate and fit.</summary>
    public sealed record SpecShaped(string Text)
    {
        public override string ToString() => Text;
    }

    /// <summary>A JSON text to read.</summary>
    public sealed record JsonText(string Text)
    {
        public override string ToString() => Text;
    }

    /// <summary>Generators: spec-shaped trees written as YAML (block or flow) or JSON, then sometimes damaged.</summary>
    public static class SpecArbitraries
    {
        private static readonly string[] Keys =
        [
            "features", "label", "name", "input", "kind", "fill", "strategy", "value", "text", "clip", "min", "max", "log1p",
            "numBuckets", "topK", "frequencyThreshold", "numOovBuckets", "hashBuckets", "components", "encode", "imageMin",
            "imageMax", "output", "x", "s", "n", "unknownKey", "<<", "", "a b", "k:v", "#c",
        ];

        private static readonly string[] Scalars =
        [
            "z_score", "min_max", "passthrough", "bucketize", "vocabulary", "hash", "cross", "image", "one_hot", "index", "mean",
            "median", "mode", "constant", "none", "classification", "regression", "x", "s", "n", "0", "1", "-1", "2", "1e308",
            "1e999", "-0.5", "NaN", ".inf", "true", "false", "null", "~", "", "9223372036854775808", "'quoted'", "\"dq\"",
            "a: b", "[x", "{y", "&anchor", "*alias", "!tag", "- item", "|", ">", "%", "@", "`", "\t", "é", "\u0000", "\uFFFD",
        ];

        public static Arbitrary<YamlText> Yaml() =>
            Damaged(Tree(0).SelectMany(t => Gen.Elements(true, false).Select(block => Yaml(t, block)))).Select(s => new YamlText(s)).ToArbitrary();

        public static Arbitrary<SpecShaped> SpecLike()
        {
            string[] kinds = ["z_score", "min_max", "passthrough", "bucketize", "vocabulary", "hash", "cross", "image", "bogus"];
            string[] inputs = ["x", "s", "n", "missing"];
            var option = Gen.OneOf(
                Gen.Elements("numBuckets", "topK", "frequencyThreshold", "numOovBuckets", "hashBuckets", "imageMin", "imageMax")
                    .SelectMany(k => Gen.Elements("0", "1", "2", "3", "-1", "1000000", "2.5", "x").Select(v => $"{k}: {v}")),
                Gen.Elements("log1p: true", "log1p: 3", "output: false", "encode: index", "encode: one_hot", "encode: bits"),
                Gen.Elements("clip: { min: 0, max: 1 }", "clip: { min: 5, max: 1 }", "clip: ~", "clip: [1, 2]"),
                Gen.Elements("mean", "median", "mode", "constant", "none", "avg").SelectMany(st => Gen.Elements("", ", value: 1", ", text: a", ", value: x").Select(v => $"fill: {{ strategy: {st}{v} }}")),
                Gen.Elements("components: [f0, f1]", "components: [f0]", "components: [f0, f0]", "components: [zz, f1]", "components: [~, f1]"));
            var feature = Gen.Zip(Gen.Elements(kinds), Gen.Elements(inputs), (kind, input) => (kind, input))
                .SelectMany(ki => Gen.Choose(0, 3).SelectMany(k => Gen.ListOf(option, k)).Select(opts => (ki.kind, ki.input, opts)));
            var spec = Gen.Choose(0, 4).SelectMany(n => Gen.ListOf(feature, n)).SelectMany(features =>
                Gen.Elements("", "label: { input: s }\n", "label: { input: n, kind: regression }\n", "label: { input: x, kind: classification }\n", "label: ~\n")
                    .Select(label =>
                    {
                        var sb = new StringBuilder("features:\n");
                        var i = 0;
                        foreach (var (kind, input, opts) in features)
                        {
                            sb.Append("  - { name: f").Append(i++).Append(", input: ").Append(kind == "cross" ? "~" : input).Append(", kind: ").Append(kind);
                            foreach (var o in opts) sb.Append(", ").Append(o);
                            sb.Append(" }\n");
                        }
                        if (features.Count == 0 && label.Length == 0) sb.Append("  - ~\n");
                        return sb.Append(label).ToString();
                    }));
            return Damaged(spec).Select(t => new SpecShaped(t)).ToArbitrary();
        }

        public static Arbitrary<JsonText> Json() =>
            Damaged(Tree(0).Select(t => Json(t))).Select(s => new JsonText(s)).ToArbitrary();

        /// <summary>A node: a scalar, a sequence or a mapping; sometimes an anchor or an alias; now and then a deep chain.</summary>
        private static Gen<Node> Tree(int depth) =>
            Gen.Sized(size => depth > 4 || size < 2
                ? Leaf()
                : Gen.Frequency(
                    (4, Leaf()),
                    (3, Gen.Choose(0, Math.Min(size, 6)).SelectMany(k => Gen.ListOf(Gen.Zip(Gen.Elements(Keys), Tree(depth + 1), (key, value) => (key, value)), k)).Select(kv => new Node(null, kv.ToList(), null, null))),
                    (2, Gen.Choose(0, Math.Min(size, 6)).SelectMany(k => Gen.ListOf(Tree(depth + 1), k)).Select(items => new Node(null, null, items.ToList(), null))),
                    (1, Gen.Choose(10, 200).Select(Deep)),
                    (1, Tree(depth + 1).SelectMany(n => Gen.Elements("a", "b", "x").Select(a => n with { Anchor = a }))),
                    (1, Gen.Elements("a", "b", "x", "missing").Select(a => new Node("*" + a, null, null, null) with { IsAlias = true }))));

        private static Gen<Node> Leaf() =>
            Gen.Frequency((5, Gen.Elements(Scalars)), (1, Gen.ArrayOf(Gen.Choose(0, 0x2FF).Select(c => (char)c)).Select(cs => new string(cs)))).Select(s => new Node(s, null, null, null));

        private static Node Deep(int depth)
        {
            var node = new Node("1", null, null, null);
            for (var i = 0; i < depth; i++) node = i % 2 == 0 ? new Node(null, null, [node], null) : new Node(null, [("a", node)], null, null);
            return node;
        }

        /// <summary>Sometimes the text is damaged: characters dropped, repeated or replaced at random places.</summary>
        private static Gen<string> Damaged(Gen<string> text) =>
            text.SelectMany(t => Gen.Frequency(
                (3, Gen.Constant(t)),
                (1, Gen.ListOf(Gen.Zip(Gen.Choose(0, Math.Max(0, t.Length)), Gen.Elements(":", "-", "[", "]", "{", "}", "\"", "'", "\n", "  ", "&a ", "*a", ",", "#", "\u0000", ""), (at, with) => (at, with)), 4)
                    .Select(edits =>
                    {
                        var sb = new StringBuilder(t);
                        foreach (var (at, with) in edits.OrderByDescending(e => e.at))
                        {
                            var pos = Math.Min(at, sb.Length);
                            if (with.Length == 0 && pos < sb.Length) sb.Remove(pos, 1);
                            else sb.Insert(pos, with);
                        }
                        return sb.ToString();
                    }))));

        private static string Yaml(Node node, bool block)
        {
            var sb = new StringBuilder();
            WriteYaml(sb, node, block, 0);
            return sb.ToString();
        }

        private static void WriteYaml(StringBuilder sb, Node node, bool block, int indent)
        {
            if (node.Anchor is not null) sb.Append('&').Append(node.Anchor).Append(' ');
            if (node.IsAlias || node.Scalar is not null)
            {
                sb.Append(node.Scalar);
                return;
            }
            if (!block || indent > 12)
            {
                if (node.Map is { } map)
                {
                    sb.Append('{');
                    for (var i = 0; i < map.Count; i++)
                    {
                        if (i > 0) sb.Append(", ");
                        sb.Append(map[i].Key).Append(": ");
                        WriteYaml(sb, map[i].Value, false, indent);
                    }
                    sb.Append('}');
                }
                else
                {
                    sb.Append('[');
                    for (var i = 0; i < node.Items!.Count; i++)
                    {
                        if (i > 0) sb.Append(", ");
                        WriteYaml(sb, node.Items[i], false, indent);
                    }
                    sb.Append(']');
                }
                return;
            }
            var pad = new string(' ', indent);
            if (node.Map is { } m)
            {
                foreach (var (key, value) in m)
                {
                    sb.Append('\n').Append(pad).Append(key).Append(": ");
                    WriteYaml(sb, value, true, indent + 2);
                }
            }
            else
            {
                foreach (var item in node.Items!)
                {
                    sb.Append('\n').Append(pad).Append("- ");
                    WriteYaml(sb, item, true, indent + 2);
                }
            }
        }

        private static string Json(Node node) => node switch
        {
            { IsAlias: true } or { Scalar: not null } => Scalar(node.Scalar!),
            { Map: { } map } => "{" + string.Join(",", map.Select(kv => System.Text.Json.JsonSerializer.Serialize(kv.Key) + ":" + Json(kv.Value))) + "}",
            _ => "[" + string.Join(",", node.Items!.Select(Json)) + "]",
        };

        /// <summary>Numbers, booleans and null bare, everything else as a JSON string.</summary>
        private static string Scalar(string s) =>
            s is "true" or "false" or "null" || double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _) && !s.Contains("NaN", StringComparison.OrdinalIgnoreCase) && !s.Contains("inf", StringComparison.OrdinalIgnoreCase)
                ? s
                : System.Text.Json.JsonSerializer.Serialize(s);
    }

    /// <summary>A generated spec tree.</summary>
    public sealed record Node(string? Scalar, List<(string Key, Node Value)>? Map, List<Node>? Items, string? Anchor)
    {
        public bool IsAlias { get; init; }
    }
}

using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Serverless.Pipelines;

/// <summary>
/// Checks YAML text against <see cref="PipelineLimits"/> before a document model is built from it: size, nesting depth
/// (YamlDotNet builds its node model recursively, so a document nested 100,000 deep would overflow the stack and end the
/// process), alias count, and the size the aliases expand to (a "billion laughs" document of a few hundred bytes stands
/// for billions of nodes, and hashing an alias used as a mapping key walks its whole expansion). Its own pass uses
/// YamlDotNet's event parser, which keeps its state on the heap.
/// </summary>
public static class YamlGuard
{
    /// <summary>The most nodes a document may stand for with every alias expanded.</summary>
    public const long MaxExpandedNodes = 1_000_000;

    /// <summary>Returns the first limit the text breaks, with its line and column, or null when within every limit.</summary>
    /// <param name="text">The YAML text.</param>
    /// <param name="limits">The limits (<see cref="PipelineLimits.MaxNestingDepth"/>, <see cref="PipelineLimits.MaxYamlAliases"/>).</param>
    /// <param name="file">The file name for the error.</param>
    /// <exception cref="YamlException">A syntax error found on the way (reported by the caller like any other).</exception>
    public static PipelineError? Check(string text, PipelineLimits limits, string? file = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(limits);
        var parser = new Parser(new StringReader(text));
        var open = new List<(string? Anchor, long Nodes)>();
        var anchors = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        var aliases = 0;
        Mark last = Mark.Empty;
        while (true)
        {
            try
            {
                if (!parser.MoveNext())
                {
                    break;
                }
            }
            catch (Exception e) when (e is not YamlException and not OutOfMemoryException)
            {
                // YamlDotNet fails on some malformed input with an internal error instead of a YamlException: still a
                // syntax error, placed after the last event it read.
                return new PipelineError($"YAML syntax error: {ErrorText.Quote(e.Message, 200)}", File: file, Line: (int)Math.Max(1, last.Line), Column: (int)Math.Max(1, last.Column));
            }

            var current = parser.Current!;
            last = current.End;
            PipelineError At(string message) => new(message, File: file, Line: (int)current.Start.Line, Column: (int)current.Start.Column);
            void AddToParent(long nodes)
            {
                if (open.Count > 0)
                {
                    open[^1] = (open[^1].Anchor, open[^1].Nodes + nodes);
                }
            }

            switch (current)
            {
                case Scalar scalar:
                    if (!scalar.Anchor.IsEmpty)
                    {
                        anchors[scalar.Anchor.Value] = 1;
                    }

                    total++;
                    AddToParent(1);
                    break;
                case NodeEvent collection when collection is SequenceStart or MappingStart:
                    if (open.Count >= limits.MaxNestingDepth)
                    {
                        return At($"nested deeper than {limits.MaxNestingDepth} levels (host.json extensions.pipelines.limits.maxNestingDepth)");
                    }

                    total++;
                    open.Add((collection.Anchor.IsEmpty ? null : collection.Anchor.Value, 1));
                    break;
                case SequenceEnd or MappingEnd:
                    var (anchor, nodes) = open[^1];
                    open.RemoveAt(open.Count - 1);
                    if (anchor is not null)
                    {
                        anchors[anchor] = nodes;
                    }

                    AddToParent(nodes);
                    break;
                case AnchorAlias alias:
                    if (++aliases > limits.MaxYamlAliases)
                    {
                        return At($"more than {limits.MaxYamlAliases} aliases (host.json extensions.pipelines.limits.maxYamlAliases)");
                    }

                    if (open.Any(o => o.Anchor == alias.Value.Value))
                    {
                        return At($"alias *{ErrorText.Clip(alias.Value.Value, 40)} refers to a collection that contains it (a recursive structure)");
                    }

                    if (!anchors.TryGetValue(alias.Value.Value, out var expanded))
                    {
                        return At($"alias *{ErrorText.Clip(alias.Value.Value, 40)} refers to no anchor defined before it");
                    }

                    total += expanded;
                    AddToParent(expanded);
                    break;
                default:
                    continue;
            }

            if (total > MaxExpandedNodes)
            {
                return At($"the document stands for more than {MaxExpandedNodes} nodes once its aliases are expanded");
            }
        }

        return null;
    }
}

using System.Text;
using Serverless.Metadata;

namespace Serverless.Pipelines;

/// <summary>
/// A problem in a pipeline definition or file, located as precisely as known: the file, line and column for
/// syntax errors; the node and field (e.g. <c>inputs.examples</c>, <c>parameters.source</c>) for the rest.
/// </summary>
/// <param name="Message">What is wrong and, where useful, what was expected.</param>
/// <param name="Node">The node id, when the problem is in a node.</param>
/// <param name="Field">The field path within the node or pipeline.</param>
/// <param name="File">The pipeline file, when loaded from one.</param>
/// <param name="Line">1-based line, when known.</param>
/// <param name="Column">1-based column, when known.</param>
public sealed record PipelineError(string Message, string? Node = null, string? Field = null, string? File = null, int? Line = null, int? Column = null)
{
    /// <summary>The error as one line: <c>file:line:column: node 'n', field 'f': message</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        if (File is not null)
        {
            text.Append(File);
            if (Line is not null)
            {
                text.Append(':').Append(Line.Value);
                if (Column is not null)
                {
                    text.Append(':').Append(Column.Value);
                }
            }

            text.Append(": ");
        }

        if (Node is not null)
        {
            text.Append("node '").Append(Node).Append('\'');
            text.Append(Field is null ? ": " : $", field '{Field}': ");
        }
        else if (Field is not null)
        {
            text.Append("field '").Append(Field).Append("': ");
        }

        return text.Append(Message).ToString();
    }
}

/// <summary>Thrown by the <c>OrThrow</c> helpers when a pipeline is invalid; lists every error.</summary>
public sealed class PipelineValidationException(IReadOnlyList<PipelineError> errors)
    : Exception("The pipeline is invalid:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  " + e)))
{
    /// <summary>Every problem found.</summary>
    public IReadOnlyList<PipelineError> Errors { get; } = errors;
}

/// <summary>A node of a validated pipeline, with its component resolved and parameters final.</summary>
/// <param name="Definition">The node as declared.</param>
/// <param name="Spec">Its component's declaration.</param>
/// <param name="Parameters">Parameters with defaults applied, converted to the declared types, paths absolute.</param>
/// <param name="UserCode">User code paths, absolute.</param>
/// <param name="Upstream">Ids of the nodes whose outputs it reads, in declaration order.</param>
public sealed record PipelineNode(
    NodeDefinition Definition,
    ComponentSpec Spec,
    IReadOnlyDictionary<string, MetadataValue> Parameters,
    IReadOnlyList<string> UserCode,
    IReadOnlyList<string> Upstream)
{
    /// <summary>The node id.</summary>
    public string Id => Definition.Id;
}

/// <summary>A validated pipeline: an acyclic graph whose every input is fed by an output of the right type.</summary>
public sealed class PipelineGraph
{
    private readonly Dictionary<string, PipelineNode> byId;

    internal PipelineGraph(PipelineDefinition definition, IReadOnlyList<PipelineNode> ordered, IReadOnlyList<IReadOnlyList<PipelineNode>> levels)
    {
        Definition = definition;
        Nodes = ordered;
        Levels = levels;
        byId = ordered.ToDictionary(n => n.Id, StringComparer.Ordinal);
    }

    /// <summary>The definition it was built from.</summary>
    public PipelineDefinition Definition { get; }

    /// <summary>The pipeline name.</summary>
    public string Name => Definition.Name;

    /// <summary>Every node in a topological order (producers before consumers; declaration order breaks ties).</summary>
    public IReadOnlyList<PipelineNode> Nodes { get; }

    /// <summary>Nodes grouped by depth: every node's upstream nodes are in earlier levels, so the nodes of one
    /// level can run in parallel.</summary>
    public IReadOnlyList<IReadOnlyList<PipelineNode>> Levels { get; }

    /// <summary>Returns a node by id.</summary>
    /// <exception cref="KeyNotFoundException">No such node.</exception>
    public PipelineNode GetNode(string id) =>
        byId.TryGetValue(id, out var node) ? node : throw new KeyNotFoundException($"Pipeline '{Name}' has no node '{id}'.");
}

/// <summary>The outcome of validation: a graph, or every error found.</summary>
/// <param name="Graph">The validated pipeline; null when there are errors.</param>
/// <param name="Errors">Every problem found; empty when valid.</param>
public sealed record PipelineValidationResult(PipelineGraph? Graph, IReadOnlyList<PipelineError> Errors)
{
    /// <summary>True when the pipeline can run.</summary>
    public bool IsValid => Graph is not null && Errors.Count == 0;

    /// <summary>Returns the graph or throws <see cref="PipelineValidationException"/> listing every error.</summary>
    public PipelineGraph GraphOrThrow() => IsValid ? Graph! : throw new PipelineValidationException(Errors);
}

/// <summary>
/// Checks a pipeline before anything runs: names, components, wiring (dangling inputs, unknown channels,
/// type mismatches, missing required inputs), parameters (unknown, missing, wrong type), data paths and user
/// code that do not exist, retry and approval settings, and cycles. Reports every problem, not just the first.
/// </summary>
public static class PipelineValidator
{
    /// <summary>Validates <paramref name="definition"/> against the components in <paramref name="registry"/>.</summary>
    /// <param name="definition">The pipeline.</param>
    /// <param name="registry">The components it may use.</param>
    /// <param name="checkPaths">Whether path parameters and user code must exist now (true before a run).</param>
    public static PipelineValidationResult Validate(PipelineDefinition definition, ComponentRegistry registry, bool checkPaths = true) =>
        Validate(definition, registry, new PipelineValidationOptions { CheckPaths = checkPaths });

    /// <summary>Validates <paramref name="definition"/> against the components in <paramref name="registry"/>, with the
    /// allowed roots and limits of <paramref name="options"/>.</summary>
    /// <param name="definition">The pipeline.</param>
    /// <param name="registry">The components it may use.</param>
    /// <param name="options">What to check besides the structure.</param>
    public static PipelineValidationResult Validate(PipelineDefinition definition, ComponentRegistry registry, PipelineValidationOptions options)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        var checkPaths = options.CheckPaths;
        var errors = new List<PipelineError>();
        var file = definition.SourceFile;
        void Error(string message, NodeDefinition? node = null, string? field = null) =>
            errors.Add(new PipelineError(message, node?.Id, field, file, node?.SourceLine));

        if (!Names.IsValid(definition.Name))
        {
            Error($"pipeline name '{definition.Name}' is not valid ({Names.Rule})", field: "name");
        }

        if (definition.Nodes.Count == 0)
        {
            Error("the pipeline has no nodes", field: "nodes");
        }

        var nodes = new Dictionary<string, NodeDefinition>(StringComparer.Ordinal);
        foreach (var node in definition.Nodes)
        {
            if (!Names.IsValid(node.Id))
            {
                Error($"node id '{node.Id}' is not valid ({Names.Rule})", node, "id");
            }
            else if (!nodes.TryAdd(node.Id, node))
            {
                Error($"node id '{node.Id}' is used by more than one node", node, "id");
            }
        }

        var baseDirectory = definition.BaseDirectory ?? Directory.GetCurrentDirectory();
        var resolved = new Dictionary<string, (ComponentSpec Spec, IReadOnlyDictionary<string, MetadataValue> Parameters, IReadOnlyList<string> UserCode)>(StringComparer.Ordinal);
        var upstream = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var node in definition.Nodes.Where(n => nodes.GetValueOrDefault(n.Id) == n))
        {
            upstream[node.Id] = [];
            if (!registry.TryGet(node.Component, out var component))
            {
                Error($"unknown component '{node.Component}' (registered: {string.Join(", ", registry.Types)})", node, "component");
                continue;
            }

            var spec = component.Spec;
            CheckInputs(node, spec, nodes, registry, upstream[node.Id], Error);
            var parameters = CheckParameters(node, spec, baseDirectory, checkPaths, Error);
            var userCode = CheckUserCode(node, baseDirectory, checkPaths, Error);
            if (options.Roots is { } roots)
            {
                foreach (var (field, message) in roots.CheckNode(spec, parameters, userCode))
                {
                    Error(message, node, field);
                }
            }

            CheckRetryAndApproval(node, Error);
            resolved[node.Id] = (spec, parameters, userCode);
        }

        var order = TopologicalOrder(definition, nodes, upstream, Error);
        if (errors.Count > 0 || order is null)
        {
            return new PipelineValidationResult(null, errors);
        }

        var built = new Dictionary<string, PipelineNode>(StringComparer.Ordinal);
        var depth = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var id in order)
        {
            var (spec, parameters, userCode) = resolved[id];
            built[id] = new PipelineNode(nodes[id], spec, parameters, userCode, upstream[id]);
            depth[id] = upstream[id].Count == 0 ? 0 : upstream[id].Max(u => depth[u]) + 1;
        }

        var ordered = order.Select(id => built[id]).ToList();
        var levels = ordered.GroupBy(n => depth[n.Id]).OrderBy(g => g.Key).Select(g => (IReadOnlyList<PipelineNode>)g.ToList()).ToList();
        return new PipelineValidationResult(new PipelineGraph(definition, ordered, levels), []);
    }

    private static void CheckInputs(NodeDefinition node, ComponentSpec spec, Dictionary<string, NodeDefinition> nodes, ComponentRegistry registry, List<string> upstream, Action<string, NodeDefinition?, string?> error)
    {
        foreach (var (channel, source) in node.Inputs.OrderBy(i => i.Key, StringComparer.Ordinal))
        {
            var field = $"inputs.{channel}";
            var input = spec.FindInput(channel);
            if (input is null)
            {
                error($"component '{spec.Type}' has no input '{channel}' (inputs: {List(spec.Inputs.Select(i => i.Name))})", node, field);
                continue;
            }

            if (source is null || !nodes.TryGetValue(source.Node, out var producer))
            {
                error($"dangling input: '{source}' refers to node '{source?.Node}', which is not in the pipeline", node, field);
                continue;
            }

            if (!upstream.Contains(producer.Id))
            {
                upstream.Add(producer.Id);
            }

            if (!registry.TryGet(producer.Component, out var producerComponent))
            {
                continue; // reported on the producer
            }

            var output = producerComponent.Spec.FindOutput(source.Output);
            if (output is null)
            {
                error($"dangling input: node '{producer.Id}' ({producer.Component}) has no output '{source.Output}' (outputs: {List(producerComponent.Spec.Outputs.Select(o => o.Name))})", node, field);
            }
            else if (!string.Equals(output.ArtifactType, input.ArtifactType, StringComparison.Ordinal))
            {
                error($"type mismatch: input '{channel}' expects {input.ArtifactType} but '{source}' produces {output.ArtifactType}", node, field);
            }
        }

        foreach (var input in spec.Inputs.Where(i => !i.Optional && !node.Inputs.ContainsKey(i.Name)))
        {
            error($"required input '{input.Name}' ({input.ArtifactType}) of component '{spec.Type}' is not connected", node, $"inputs.{input.Name}");
        }
    }

    private static IReadOnlyDictionary<string, MetadataValue> CheckParameters(NodeDefinition node, ComponentSpec spec, string baseDirectory, bool checkPaths, Action<string, NodeDefinition?, string?> error)
    {
        var (values, problems) = spec.ResolveParameters(node.Parameters);
        foreach (var (parameter, message) in problems)
        {
            error(message, node, $"parameters.{parameter}");
        }

        var result = new SortedDictionary<string, MetadataValue>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            if (spec.FindParameter(name)!.Type != ParameterType.Path)
            {
                result[name] = value;
                continue;
            }

            var path = Path.GetFullPath(value.StringValue!, baseDirectory);
            if (checkPaths && !File.Exists(path) && !Directory.Exists(path))
            {
                error($"data path '{path}' does not exist", node, $"parameters.{name}");
            }

            result[name] = path;
        }

        return result;
    }

    private static List<string> CheckUserCode(NodeDefinition node, string baseDirectory, bool checkPaths, Action<string, NodeDefinition?, string?> error)
    {
        var paths = new List<string>();
        for (var i = 0; i < node.UserCode.Count; i++)
        {
            var path = Path.GetFullPath(node.UserCode[i], baseDirectory);
            if (checkPaths && !File.Exists(path) && !Directory.Exists(path))
            {
                error($"user code '{path}' does not exist", node, $"user_code[{i}]");
            }

            paths.Add(path);
        }

        return paths;
    }

    private static void CheckRetryAndApproval(NodeDefinition node, Action<string, NodeDefinition?, string?> error)
    {
        if (string.IsNullOrWhiteSpace(node.Pool))
        {
            error("the worker pool must not be empty", node, "pool");
        }

        if (node.Retry is { } retry)
        {
            if (retry.MaxAttempts < 1)
            {
                error($"must be at least 1, not {retry.MaxAttempts}", node, "retry.max_attempts");
            }

            if (retry.FirstRetryInterval <= TimeSpan.Zero)
            {
                error("must be a positive duration", node, "retry.first_retry_interval");
            }

            if (!(retry.BackoffCoefficient >= 1.0) || !double.IsFinite(retry.BackoffCoefficient))
            {
                error($"must be at least 1, not {retry.BackoffCoefficient}", node, "retry.backoff_coefficient");
            }

            if (retry.MaxRetryInterval is { } max && max < retry.FirstRetryInterval)
            {
                error("must not be shorter than first_retry_interval", node, "retry.max_retry_interval");
            }

            if (retry.RetryTimeout is { } timeout && timeout <= TimeSpan.Zero)
            {
                error("must be a positive duration", node, "retry.retry_timeout");
            }
        }

        if (node.Approval is { } approval)
        {
            if (string.IsNullOrWhiteSpace(approval.EventName))
            {
                error("the approval event name must not be empty", node, "approval.event");
            }

            if (approval.Timeout <= TimeSpan.Zero)
            {
                error("must be a positive duration", node, "approval.timeout");
            }
        }
    }

    // Kahn's algorithm, picking ready nodes in declaration order; leftovers lie on or behind a cycle.
    private static List<string>? TopologicalOrder(PipelineDefinition definition, Dictionary<string, NodeDefinition> nodes, Dictionary<string, List<string>> upstream, Action<string, NodeDefinition?, string?> error)
    {
        var declared = definition.Nodes.Select(n => n.Id).Where(upstream.ContainsKey).Distinct().ToList();
        var remaining = declared.ToDictionary(id => id, id => upstream[id].Count(u => upstream.ContainsKey(u)), StringComparer.Ordinal);
        var order = new List<string>();
        bool progress;
        do
        {
            progress = false;
            foreach (var id in declared.Where(id => remaining.TryGetValue(id, out var count) && count == 0).ToList())
            {
                remaining.Remove(id);
                order.Add(id);
                progress = true;
                foreach (var consumer in declared.Where(c => remaining.ContainsKey(c)))
                {
                    remaining[consumer] -= upstream[consumer].Count(u => u == id);
                }
            }
        }
        while (progress);

        if (remaining.Count == 0)
        {
            return order;
        }

        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var start in declared.Where(remaining.ContainsKey))
        {
            var cycle = FindCycle(start, upstream, remaining);
            if (cycle is null || !reported.Add(string.Join(",", cycle.Order(StringComparer.Ordinal))))
            {
                continue;
            }

            var first = nodes[cycle[0]];
            var feeding = first.Inputs.FirstOrDefault(i => i.Value?.Node == cycle[^1]);
            error($"cycle: {string.Join(" -> ", cycle.Append(cycle[0]))}", first, feeding.Key is null ? "inputs" : $"inputs.{feeding.Key}");
        }

        return null;
    }

    // Walks upstream edges from start; returns the cycle in data-flow order (producer first), or null.
    private static List<string>? FindCycle(string start, Dictionary<string, List<string>> upstream, Dictionary<string, int> candidates)
    {
        var path = new List<string>();
        var onPath = new Dictionary<string, int>(StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);

        List<string>? Visit(string id)
        {
            onPath[id] = path.Count;
            path.Add(id);
            foreach (var up in upstream[id].Where(candidates.ContainsKey))
            {
                if (onPath.TryGetValue(up, out var index))
                {
                    var cycle = path.Skip(index).ToList(); // consumer-first walk: reverse to data-flow order
                    cycle.Reverse();
                    return cycle;
                }

                if (!done.Contains(up) && Visit(up) is { } found)
                {
                    return found;
                }
            }

            path.RemoveAt(path.Count - 1);
            onPath.Remove(id);
            done.Add(id);
            return null;
        }

        return Visit(start);
    }

    private static string List(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }
}

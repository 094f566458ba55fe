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

    /// <summary>The most errors one load or validation reports; the rest are counted in a last error.</summary>
    public const int MaxReported = 100;

    /// <summary>
    /// <paramref name="errors"/>, or its first <see cref="MaxReported"/> followed by one error counting the rest, so a
    /// file of 100,000 bad nodes yields a readable answer of bounded size.
    /// </summary>
    public static IReadOnlyList<PipelineError> Cap(IReadOnlyList<PipelineError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return errors.Count <= MaxReported
            ? errors
            : [.. errors.Take(MaxReported), new PipelineError($"and {errors.Count - MaxReported} more errors", File: errors[0].File)];
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
        var limits = options.Limits;
        var errors = new List<PipelineError>();
        var file = definition.SourceFile;
        void Error(string message, NodeDefinition? node = null, string? field = null) =>
            errors.Add(new PipelineError(message, ErrorText.Clip(node?.Id), ErrorText.Clip(field), file, node?.SourceLine));

        // A definition from JSON (an orchestration input) may hold nulls where C# code cannot; they are errors, not crashes.
        definition = Normalize(definition, Error);
        if (definition.Nodes.Count > limits.MaxNodes)
        {
            Error($"the pipeline has {definition.Nodes.Count} nodes, more than the limit of {limits.MaxNodes} (host.json extensions.pipelines.limits.maxNodes)", field: "nodes");
            return new PipelineValidationResult(null, errors);
        }

        if (!Names.IsValid(definition.Name))
        {
            Error($"pipeline name {ErrorText.Quote(definition.Name)} is not valid ({Names.Rule})", field: "name");
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
                Error($"node id {ErrorText.Quote(node.Id)} is not valid ({Names.Rule})", node, "id");
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
                Error($"unknown component {ErrorText.Quote(node.Component)} (registered: {string.Join(", ", registry.Types)})", node, "component");
                continue;
            }

            var spec = component.Spec;
            CheckInputs(node, spec, nodes, registry, upstream[node.Id], Error);
            var parameters = CheckParameters(node, spec, baseDirectory, checkPaths, limits, Error);
            var userCode = CheckUserCode(node, baseDirectory, checkPaths, Error);
            if (options.Roots is { } roots)
            {
                foreach (var (field, message) in roots.CheckNode(spec, parameters, userCode))
                {
                    Error(message, node, field);
                }
            }

            CheckRetryAndApproval(node, limits, Error);
            resolved[node.Id] = (spec, parameters, userCode);
        }

        var order = TopologicalOrder(definition, nodes, upstream, Error);
        if (errors.Count > 0 || order is null)
        {
            return new PipelineValidationResult(null, PipelineError.Cap(errors));
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
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (channel, source) in node.Inputs.OrderBy(i => i.Key, StringComparer.Ordinal))
        {
            var field = $"inputs.{channel}";
            var input = spec.FindInput(channel);
            if (input is null)
            {
                error($"component '{spec.Type}' has no input {ErrorText.Quote(channel)} (inputs: {List(spec.Inputs.Select(i => i.Name))})", node, field);
                continue;
            }

            if (source is null || !nodes.TryGetValue(source.Node, out var producer))
            {
                error($"dangling input: {ErrorText.Quote(source?.ToString())} refers to node {ErrorText.Quote(source?.Node)}, which is not in the pipeline", node, field);
                continue;
            }

            if (seen.Add(producer.Id))
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
                error($"dangling input: node '{producer.Id}' ({producer.Component}) has no output {ErrorText.Quote(source.Output)} (outputs: {List(producerComponent.Spec.Outputs.Select(o => o.Name))})", node, field);
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

    private static IReadOnlyDictionary<string, MetadataValue> CheckParameters(NodeDefinition node, ComponentSpec spec, string baseDirectory, bool checkPaths, PipelineLimits limits, Action<string, NodeDefinition?, string?> error)
    {
        var given = new Dictionary<string, MetadataValue>(StringComparer.Ordinal);
        foreach (var (name, value) in node.Parameters)
        {
            if (value is null)
            {
                error("expected a value (string, number or true/false), not null", node, $"parameters.{name}");
            }
            else if (value.StringValue is { } text && text.Length > limits.MaxParameterLength)
            {
                error($"the value is {text.Length} characters, more than the limit of {limits.MaxParameterLength} (host.json extensions.pipelines.limits.maxParameterLength): {ErrorText.Quote(text)}", node, $"parameters.{name}");
            }
            else
            {
                given[name] = value;
            }
        }

        var (values, problems) = spec.ResolveParameters(given);
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
                error($"data path {ErrorText.Quote(path)} does not exist", node, $"parameters.{name}");
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
                error($"user code {ErrorText.Quote(path)} does not exist", node, $"user_code[{i}]");
            }

            paths.Add(path);
        }

        return paths;
    }

    private static void CheckRetryAndApproval(NodeDefinition node, PipelineLimits limits, Action<string, NodeDefinition?, string?> error)
    {
        if (string.IsNullOrWhiteSpace(node.Pool))
        {
            error("the worker pool must not be empty", node, "pool");
        }

        if (node.Retry is { } retry)
        {
            if (retry.MaxAttempts < 1 || retry.MaxAttempts > limits.MaxRetryAttempts)
            {
                error($"must be between 1 and {limits.MaxRetryAttempts} (host.json extensions.pipelines.limits.maxRetryAttempts), not {retry.MaxAttempts}", node, "retry.max_attempts");
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
            else if (!Names.IsValid(approval.EventName))
            {
                error($"approval event {ErrorText.Quote(approval.EventName)} is not valid ({Names.Rule})", node, "approval.event");
            }

            if (approval.Timeout <= TimeSpan.Zero)
            {
                error("must be a positive duration", node, "approval.timeout");
            }
        }
    }

    // Kahn's algorithm in layers (each layer in declaration order, as documented for PipelineGraph.Nodes); linear in nodes
    // and edges, no recursion: a pipeline of any size or shape cannot exhaust the stack or the CPU. Leftovers lie on or
    // behind a cycle.
    private static List<string>? TopologicalOrder(PipelineDefinition definition, Dictionary<string, NodeDefinition> nodes, Dictionary<string, List<string>> upstream, Action<string, NodeDefinition?, string?> error)
    {
        var declared = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in definition.Nodes)
        {
            if (upstream.ContainsKey(node.Id) && index.TryAdd(node.Id, declared.Count))
            {
                declared.Add(node.Id);
            }
        }

        var waiting = new int[declared.Count];
        var consumers = new List<int>[declared.Count];
        for (var i = 0; i < declared.Count; i++)
        {
            consumers[i] ??= [];
            foreach (var producer in upstream[declared[i]])
            {
                if (index.TryGetValue(producer, out var j))
                {
                    waiting[i]++;
                    (consumers[j] ??= []).Add(i);
                }
            }
        }

        var order = new List<string>(declared.Count);
        var layer = Enumerable.Range(0, declared.Count).Where(i => waiting[i] == 0).ToList();
        while (layer.Count > 0)
        {
            var next = new List<int>();
            foreach (var i in layer)
            {
                order.Add(declared[i]);
                foreach (var consumer in consumers[i])
                {
                    if (--waiting[consumer] == 0)
                    {
                        next.Add(consumer);
                    }
                }
            }

            next.Sort();
            layer = next;
        }

        if (order.Count == declared.Count)
        {
            return order;
        }

        ReportCycles(declared, index, waiting, upstream, nodes, error);
        return null;
    }

    // An iterative depth-first search along upstream edges among the nodes left over; every back edge closes a cycle,
    // reported in data-flow order (producer first), at most MaxCyclesReported of them, each with at most
    // MaxCycleNodesShown names, so a 100,000-node cycle gives one short error.
    private static void ReportCycles(List<string> declared, Dictionary<string, int> index, int[] waiting, Dictionary<string, List<string>> upstream, Dictionary<string, NodeDefinition> nodes, Action<string, NodeDefinition?, string?> error)
    {
        const int MaxCyclesReported = 10;
        var color = new byte[declared.Count]; // 0 unvisited, 1 on the current path, 2 done
        var path = new List<int>();
        var edge = new List<int>();
        var positionOnPath = new Dictionary<int, int>();
        var reported = 0;
        var more = 0;
        for (var start = 0; start < declared.Count; start++)
        {
            if (waiting[start] == 0 || color[start] != 0)
            {
                continue;
            }

            color[start] = 1;
            positionOnPath[start] = 0;
            path.Add(start);
            edge.Add(0);
            while (path.Count > 0)
            {
                var current = path[^1];
                var ups = upstream[declared[current]];
                if (edge[^1] >= ups.Count)
                {
                    color[current] = 2;
                    positionOnPath.Remove(current);
                    path.RemoveAt(path.Count - 1);
                    edge.RemoveAt(edge.Count - 1);
                    continue;
                }

                var up = ups[edge[^1]++];
                if (!index.TryGetValue(up, out var u) || waiting[u] == 0)
                {
                    continue;
                }

                if (color[u] == 1)
                {
                    if (reported++ >= MaxCyclesReported)
                    {
                        more++;
                        continue;
                    }

                    // The path from u to current, walked consumer-first: reversed, it is the data-flow order.
                    var cycle = path.Skip(positionOnPath[u]).Select(i => declared[i]).Reverse().ToList();
                    var first = nodes[cycle[0]];
                    var feeding = first.Inputs.FirstOrDefault(i => i.Value?.Node == cycle[^1]);
                    error(CycleMessage(cycle), first, feeding.Key is null ? "inputs" : $"inputs.{feeding.Key}");
                }
                else if (color[u] == 0)
                {
                    color[u] = 1;
                    positionOnPath[u] = path.Count;
                    path.Add(u);
                    edge.Add(0);
                }
            }
        }

        if (more > 0)
        {
            error($"and {more} more cycle(s)", null, "nodes");
        }
    }

    private static string CycleMessage(List<string> cycle)
    {
        const int Shown = 10;
        var names = cycle.Count <= Shown
            ? cycle.Append(cycle[0])
            : cycle.Take(Shown - 2).Append($"... ({cycle.Count - Shown + 1} more) ...").Append(cycle[^1]).Append(cycle[0]);
        var size = cycle.Count > Shown ? $" of {cycle.Count} nodes" : string.Empty;
        return $"cycle{size}: {string.Join(" -> ", names)}";
    }

    private static PipelineDefinition Normalize(PipelineDefinition definition, Action<string, NodeDefinition?, string?> error)
    {
        var nodes = new List<NodeDefinition>();
        var i = 0;
        foreach (var node in definition.Nodes ?? [])
        {
            if (node is null)
            {
                error($"nodes[{i}] is null", null, $"nodes[{i}]");
            }
            else
            {
                nodes.Add(node with
                {
                    Id = node.Id ?? string.Empty,
                    Component = node.Component ?? string.Empty,
                    Inputs = node.Inputs ?? new Dictionary<string, ChannelRef>(),
                    Parameters = node.Parameters ?? MetadataMaps.Empty,
                    UserCode = node.UserCode?.Select(u => u ?? string.Empty).ToList() ?? [],
                    Pool = node.Pool ?? string.Empty,
                });
            }

            i++;
        }

        return definition with { Name = definition.Name ?? string.Empty, Nodes = nodes };
    }

    private static string List(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }
}

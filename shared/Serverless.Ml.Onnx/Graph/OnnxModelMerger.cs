using Serverless.Ml.Onnx.Proto;

namespace Serverless.Ml.Onnx.Graph;

/// <summary>Options of <see cref="OnnxModelMerger.Merge"/>.</summary>
public sealed class OnnxMergeOptions
{
    /// <summary>Prefix for the first model's internal names (nodes, initializers, intermediates). Default <c>first/</c>.</summary>
    public string FirstPrefix { get; init; } = "first/";

    /// <summary>Prefix for the second model's internal names. Default <c>second/</c>.</summary>
    public string SecondPrefix { get; init; } = "second/";

    /// <summary>
    /// Also expose the first model's outputs as outputs of the merged model (e.g. the transformed
    /// features next to the predictions). Default false: only the second model's outputs.
    /// </summary>
    public bool KeepFirstOutputs { get; init; }

    /// <summary>Graph name of the merged model. Default: the two names joined by <c>+</c>.</summary>
    public string? GraphName { get; init; }
}

/// <summary>
/// Composes two models so that the first one's outputs feed the second one's inputs: at export the
/// Transform graph (raw features in, model features out) is fused with the trained model, so the served
/// model takes raw features and returns predictions, with no preprocessing code outside ONNX.
/// </summary>
/// <remarks>
/// Names on the boundary keep their spelling: the merged inputs are the first model's inputs plus any
/// unconnected inputs of the second (an input both declare is shared if the types agree); the outputs
/// are the second model's outputs (plus the first's with <see cref="OnnxMergeOptions.KeepFirstOutputs"/>).
/// Every other name (nodes, initializers, intermediate values) gets the model's prefix, so the two
/// graphs cannot clash. Both models must import the same version of every operator set they share,
/// because an op's meaning depends on it. Subgraph attributes (If/Loop bodies) are not supported.
/// </remarks>
public static class OnnxModelMerger
{
    /// <summary>
    /// Merges <paramref name="first"/> into <paramref name="second"/>. <paramref name="connections"/> maps
    /// a first-model output name to the second-model input it feeds; null connects equal names.
    /// </summary>
    public static ModelProto Merge(ModelProto first, ModelProto second, IReadOnlyDictionary<string, string>? connections = null,
        OnnxMergeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        options ??= new OnnxMergeOptions();
        if (string.IsNullOrEmpty(options.FirstPrefix) || string.IsNullOrEmpty(options.SecondPrefix) || options.FirstPrefix == options.SecondPrefix)
            throw new ArgumentException("The two prefixes must be non-empty and different.", nameof(options));
        var g1 = first.Graph ?? throw new ArgumentException("The first model has no graph.", nameof(first));
        var g2 = second.Graph ?? throw new ArgumentException("The second model has no graph.", nameof(second));
        RejectSubgraphs(g1, nameof(first));
        RejectSubgraphs(g2, nameof(second));

        var firstOutputs = g1.Output.ToDictionary(o => o.Name, StringComparer.Ordinal);
        var secondInputs = g2.Input.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var secondInitializers = g2.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);

        // second input name -> first output name feeding it
        var feeds = new Dictionary<string, string>(StringComparer.Ordinal);
        if (connections is null)
        {
            foreach (var name in firstOutputs.Keys)
                if (secondInputs.ContainsKey(name)) feeds[name] = name;
            if (feeds.Count == 0)
                throw new ArgumentException("No output of the first model has the name of an input of the second; pass connections explicitly.", nameof(connections));
        }
        else
        {
            foreach (var (from, to) in connections)
            {
                if (!firstOutputs.TryGetValue(from, out var o))
                    throw new ArgumentException($"'{from}' is not an output of the first model (outputs: {string.Join(", ", firstOutputs.Keys)}).", nameof(connections));
                if (!secondInputs.TryGetValue(to, out var i))
                    throw new ArgumentException($"'{to}' is not an input of the second model (inputs: {string.Join(", ", secondInputs.Keys)}).", nameof(connections));
                if (!feeds.TryAdd(to, from))
                    throw new ArgumentException($"The second model's input '{to}' is connected twice.", nameof(connections));
                RequireSameType(o, i, $"'{from}' -> '{to}'");
            }
        }
        foreach (var (to, from) in feeds)
            RequireSameType(firstOutputs[from], secondInputs[to], $"'{from}' -> '{to}'");

        var opsets = MergeOpsets(first, second);

        // Boundary names: kept as they are. Everything else is prefixed.
        var keep1 = g1.Input.Select(i => i.Name).Concat(g1.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        var keep2 = g2.Input.Where(i => !feeds.ContainsKey(i.Name) && !secondInitializers.Contains(i.Name)).Select(i => i.Name)
            .Concat(g2.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        string Rename1(string n) => n.Length == 0 || keep1.Contains(n) ? n : options.FirstPrefix + n;
        string Rename2(string n) => n.Length == 0 ? n : feeds.TryGetValue(n, out var src) ? src : keep2.Contains(n) ? n : options.SecondPrefix + n;

        var merged = new GraphProto { Name = options.GraphName ?? $"{g1.Name}+{g2.Name}" };
        var inputNames = new Dictionary<string, ValueInfoProto>(StringComparer.Ordinal);
        foreach (var input in g1.Input)
        {
            merged.Input.Add(input.Clone());
            inputNames[input.Name] = input;
        }
        foreach (var input in g2.Input)
        {
            if (feeds.ContainsKey(input.Name) || secondInitializers.Contains(input.Name)) continue;
            if (inputNames.TryGetValue(input.Name, out var shared))
            {
                RequireSameType(shared, input, $"input '{input.Name}' shared by both models");
                continue;
            }
            merged.Input.Add(input.Clone());
        }

        foreach (var t in g1.Initializer) merged.Initializer.Add(Renamed(t, Rename1));
        foreach (var t in g2.Initializer) merged.Initializer.Add(Renamed(t, Rename2));
        foreach (var n in g1.Node) merged.Node.Add(Renamed(n, Rename1, options.FirstPrefix));
        foreach (var n in g2.Node) merged.Node.Add(Renamed(n, Rename2, options.SecondPrefix));
        foreach (var v in g1.ValueInfo) merged.ValueInfo.Add(Renamed(v, Rename1));
        foreach (var v in g2.ValueInfo) merged.ValueInfo.Add(Renamed(v, Rename2));

        var outputNames = new HashSet<string>(StringComparer.Ordinal);
        if (options.KeepFirstOutputs)
            foreach (var o in g1.Output) { outputNames.Add(o.Name); merged.Output.Add(o.Clone()); }
        foreach (var o in g2.Output)
        {
            if (!outputNames.Add(o.Name))
                throw new ArgumentException($"Both models output '{o.Name}'; rename one before merging.", nameof(second));
            merged.Output.Add(o.Clone());
        }
        RequireUniqueProducers(merged);

        var model = new ModelProto
        {
            IrVersion = Math.Max(first.IrVersion, second.IrVersion),
            ProducerName = OnnxVersions.ProducerName,
            ProducerVersion = second.ProducerVersion,
            Graph = merged,
        };
        model.OpsetImport.AddRange(opsets);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in first.MetadataProps.Concat(second.MetadataProps)) metadata[p.Key] = p.Value;
        foreach (var (k, v) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    private static List<OperatorSetIdProto> MergeOpsets(ModelProto first, ModelProto second)
    {
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var o in first.OpsetImport.Concat(second.OpsetImport))
        {
            var domain = o.Domain == "ai.onnx" ? "" : o.Domain;
            if (versions.TryGetValue(domain, out var v) && v != o.Version)
                throw new ArgumentException(
                    $"The models import different versions of operator set '{(domain.Length == 0 ? "ai.onnx" : domain)}' ({v} and {o.Version}); build both with the same opset.",
                    nameof(second));
            versions[domain] = o.Version;
        }
        return versions.Select(kv => new OperatorSetIdProto { Domain = kv.Key, Version = kv.Value }).ToList();
    }

    private static void RequireSameType(ValueInfoProto a, ValueInfoProto b, string what)
    {
        var ta = a.Type?.TensorType?.ElemType ?? 0;
        var tb = b.Type?.TensorType?.ElemType ?? 0;
        if (ta != 0 && tb != 0 && ta != tb)
            throw new ArgumentException($"Type mismatch for {what}: {(OnnxElementType)ta} vs {(OnnxElementType)tb}.");
    }

    private static void RejectSubgraphs(GraphProto g, string paramName)
    {
        foreach (var n in g.Node)
            if (n.Attribute.Any(a => a.G != null || a.Graphs.Count > 0))
                throw new ArgumentException($"Node '{n.Name}' ({n.OpType}) has a subgraph; merging graphs with subgraphs is not supported.", paramName);
    }

    private static void RequireUniqueProducers(GraphProto g)
    {
        var produced = new HashSet<string>(g.Input.Select(i => i.Name), StringComparer.Ordinal);
        foreach (var t in g.Initializer)
            if (!produced.Add(t.Name) && !g.Input.Any(i => i.Name == t.Name))
                throw new InvalidOperationException($"Merged graph defines '{t.Name}' twice.");
        foreach (var n in g.Node)
            foreach (var o in n.Output)
                if (o.Length != 0 && !produced.Add(o))
                    throw new InvalidOperationException($"Merged graph defines '{o}' twice; choose other prefixes or rename the models' inputs/outputs.");
    }

    private static TensorProto Renamed(TensorProto t, Func<string, string> rename)
    {
        var c = t.Clone();
        c.Name = rename(t.Name);
        return c;
    }

    private static ValueInfoProto Renamed(ValueInfoProto v, Func<string, string> rename)
    {
        var c = v.Clone();
        c.Name = rename(v.Name);
        return c;
    }

    private static NodeProto Renamed(NodeProto n, Func<string, string> rename, string prefix)
    {
        var c = n.Clone();
        c.Input.Clear();
        c.Input.AddRange(n.Input.Select(rename));
        c.Output.Clear();
        c.Output.AddRange(n.Output.Select(rename));
        if (n.HasName && n.Name.Length != 0) c.Name = prefix + n.Name;
        return c;
    }
}

namespace Serverless.Ml.Onnx.Runtime;

/// <summary>ONNX Runtime's graph optimization levels.</summary>
public enum GraphOptimizationLevel
{
    /// <summary>No optimization: run the graph as written.</summary>
    Disabled = 0,
    /// <summary>Semantics-preserving rewrites (constant folding, redundant node removal).</summary>
    Basic = 1,
    /// <summary>Basic plus op fusions.</summary>
    Extended = 2,
    /// <summary>Everything, including layout changes (ORT's default).</summary>
    All = 99,
}

/// <summary>Settings of an <see cref="InferenceSession"/>.</summary>
public sealed class InferenceSessionOptions
{
    /// <summary>Threads used inside one op; 0 (the default) lets ONNX Runtime pick one per core.
    /// 1 is often fastest for small models served concurrently.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Threads running independent nodes in parallel; 0 (the default) lets ONNX Runtime pick.</summary>
    public int InterOpThreads { get; init; }

    /// <summary>Graph optimizations applied at load; default <see cref="GraphOptimizationLevel.All"/>.</summary>
    public GraphOptimizationLevel OptimizationLevel { get; init; } = GraphOptimizationLevel.All;
}

using Microsoft.ML.OnnxRuntime;

namespace Serverless.Ml.Onnx.Runtime;

/// <summary>Settings of an <see cref="InferenceSession"/> (the subset of ONNX Runtime's SessionOptions we set).</summary>
public sealed class InferenceSessionOptions
{
    /// <summary>Threads used inside one op; 0 (the default) lets ONNX Runtime pick one per core.
    /// 1 is often fastest for small models served concurrently.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Threads running independent nodes in parallel; 0 (the default) lets ONNX Runtime pick.</summary>
    public int InterOpThreads { get; init; }

    /// <summary>Graph optimizations applied at load; default <see cref="GraphOptimizationLevel.ORT_ENABLE_ALL"/> (ORT's default).</summary>
    public GraphOptimizationLevel OptimizationLevel { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;
}

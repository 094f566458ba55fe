namespace Serverless.Serving;

/// <summary>Settings of the <see cref="ModelVersionManager"/> (TF Serving's model config, in one object).</summary>
public sealed class ServingOptions
{
    /// <summary>The models to serve; empty (the default) serves every model found in the repository.</summary>
    public IList<ModelConfig> Models { get; init; } = [];

    /// <summary>How often the repository is polled for new versions; default 1 s (TF Serving's file system poll).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How many of the newest successfully loaded versions stay loaded (labelled versions are kept on top); default 1, TF Serving's "latest" policy.</summary>
    public int KeepVersions { get; init; } = 1;

    /// <summary>ONNX Runtime intra-op threads per session; default 1, the fastest for small models served concurrently.</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>How concurrent requests are batched.</summary>
    public BatchingOptions Batching { get; init; } = new();
}

/// <summary>One served model.</summary>
public sealed class ModelConfig
{
    /// <summary>The model's name (its directory in the repository).</summary>
    public required string Name { get; init; }

    /// <summary>Version labels, e.g. <c>stable</c> -> 1, <c>canary</c> -> 2. A labelled version stays loaded while it is in the repository.</summary>
    public IDictionary<string, long> VersionLabels { get; init; } = new Dictionary<string, long>(StringComparer.Ordinal);

    /// <summary>Overrides <see cref="ServingOptions.KeepVersions"/> for this model when set.</summary>
    public int? KeepVersions { get; init; }
}

/// <summary>
/// Request batching (TF Serving's batching parameters): concurrent single-row requests are stacked into one
/// ONNX Runtime call. A batch runs when it is full, when every request the server has started reading for
/// this version is already queued (nobody else is about to join, so waiting would only add latency), or when
/// its oldest request has waited <see cref="MaxWait"/>.
/// </summary>
public sealed class BatchingOptions
{
    /// <summary>False runs every request on its own; default true.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Most rows in one ONNX Runtime call; default 64. Requests with more rows run on their own.</summary>
    public int MaxBatchSize { get; init; } = 64;

    /// <summary>Longest a queued request waits for others; default 2 ms (TF Serving's batch_timeout_micros).</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(2);
}

using Serverless.Metadata;
using Serverless.Storage;

namespace Serverless.Pipelines;

/// <summary>
/// Runs a component (TFX's executor <c>Do</c>). It reads its inputs, writes every declared output through the
/// given <see cref="OutputArtifact"/> writers (to a staging prefix; the node runner publishes them when the
/// executor returns) and may set output properties. Throwing fails the execution and publishes nothing.
/// </summary>
/// <remarks>
/// Executors must be deterministic enough to be retried: an activity is at-least-once, so the same execution
/// may run twice. They must not write anywhere but their outputs.
/// </remarks>
public interface IComponentExecutor
{
    /// <summary>Runs the component once.</summary>
    /// <param name="inputs">Published input artifacts by input channel name; unbound optional inputs are absent.</param>
    /// <param name="outputs">One writer per declared output channel.</param>
    /// <param name="parameters">Parameters with defaults applied and values converted to the declared types.</param>
    /// <param name="context">Where and as what this execution runs.</param>
    /// <param name="cancellation">Stops the execution; nothing is published.</param>
    Task ExecuteAsync(
        IReadOnlyDictionary<string, InputArtifact> inputs,
        IReadOnlyDictionary<string, OutputArtifact> outputs,
        ComponentParameters parameters,
        ExecutorContext context,
        CancellationToken cancellation = default);
}

/// <summary>Where and as what an execution runs: handed to executors and used by the node runner.</summary>
public sealed class ExecutorContext
{
    /// <summary>The pipeline's name (first segment of every artifact path).</summary>
    public required string PipelineName { get; init; }

    /// <summary>The run id (the orchestration instance id).</summary>
    public required string RunId { get; init; }

    /// <summary>The node id within the pipeline.</summary>
    public required string NodeId { get; init; }

    /// <summary>The execution id used in artifact paths; stable across retries of the same activity.</summary>
    public required string ExecutionId { get; init; }

    /// <summary>The artifact store.</summary>
    public required IBlobStore BlobStore { get; init; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The host's scratch root (see <see cref="PipelineRoots.Scratch"/>), where executors keep temporary files and
    /// checkpoints in folders of their own, created 0700; null: a private temporary folder (never a fixed shared one).</summary>
    public string? ScratchDirectory { get; init; }

    /// <summary>Content fingerprints of the node's <see cref="ParameterType.Path"/> parameters, by parameter name,
    /// as the node runner computed them for the cache key (empty when the executor is called directly).</summary>
    public IReadOnlyDictionary<string, string> PathFingerprints { get; init; } = new Dictionary<string, string>();
}

/// <summary>Resolved parameters with typed accessors; a missing or mistyped name is a programming error.</summary>
public sealed class ComponentParameters(IReadOnlyDictionary<string, MetadataValue> values)
{
    /// <summary>All values by name.</summary>
    public IReadOnlyDictionary<string, MetadataValue> Values { get; } = values ?? throw new ArgumentNullException(nameof(values));

    /// <summary>True when the parameter has a value.</summary>
    public bool Contains(string name) => Values.ContainsKey(name);

    /// <summary>A string or path parameter.</summary>
    public string GetString(string name) => Get(name, PropertyType.String).StringValue!;

    /// <summary>An integer parameter.</summary>
    public long GetInt64(string name) => Get(name, PropertyType.Int).IntValue;

    /// <summary>A double parameter.</summary>
    public double GetDouble(string name) => Get(name, PropertyType.Double).DoubleValue;

    /// <summary>A boolean parameter.</summary>
    public bool GetBoolean(string name) => Get(name, PropertyType.Boolean).BoolValue;

    private MetadataValue Get(string name, PropertyType type)
    {
        if (!Values.TryGetValue(name, out var value))
        {
            throw new KeyNotFoundException($"Parameter '{name}' has no value (known: {string.Join(", ", Values.Keys)}).");
        }

        return value.Type == type ? value : throw new InvalidCastException($"Parameter '{name}' is {value.Type}, not {type}.");
    }
}

namespace Serverless.Metadata;

/// <summary>A registered artifact, execution or context type and the properties it declares.</summary>
/// <param name="Id">The store's id.</param>
/// <param name="Kind">Artifact, execution or context type.</param>
/// <param name="Name">The type's name, unique within its kind.</param>
/// <param name="Properties">Declared properties and their value types; custom properties are free.</param>
public sealed record MetadataType(long Id, TypeKind Kind, string Name, IReadOnlyDictionary<string, PropertyType> Properties);

/// <summary>
/// An artifact: a piece of data an execution read or wrote (ML Metadata's <c>Artifact</c>). Its content
/// lives at <see cref="Uri"/>; the store holds only the record. An <see cref="Id"/> of 0 means "not stored yet".
/// </summary>
public sealed record Artifact
{
    /// <summary>The store's id; 0 before the artifact is first stored.</summary>
    public long Id { get; init; }

    /// <summary>The artifact type's name; the type must be registered.</summary>
    public required string Type { get; init; }

    /// <summary>Where the content lives (for pipeline artifacts: a blob prefix).</summary>
    public string Uri { get; init; } = string.Empty;

    /// <summary>An optional name, unique within the type.</summary>
    public string? Name { get; init; }

    /// <summary>The lifecycle state.</summary>
    public ArtifactState State { get; init; } = ArtifactState.Unknown;

    /// <summary>Properties declared by the type; values must match the declared types.</summary>
    public IReadOnlyDictionary<string, MetadataValue> Properties { get; init; } = MetadataMaps.Empty;

    /// <summary>Free-form properties.</summary>
    public IReadOnlyDictionary<string, MetadataValue> CustomProperties { get; init; } = MetadataMaps.Empty;

    /// <summary>When the record was first stored (set by the store).</summary>
    public DateTimeOffset CreateTime { get; init; }

    /// <summary>When the record was last written (set by the store).</summary>
    public DateTimeOffset LastUpdateTime { get; init; }
}

/// <summary>
/// An execution: one run of a component (ML Metadata's <c>Execution</c>). An <see cref="Id"/> of 0 means
/// "not stored yet".
/// </summary>
public sealed record Execution
{
    /// <summary>The store's id; 0 before the execution is first stored.</summary>
    public long Id { get; init; }

    /// <summary>The execution type's name; the type must be registered.</summary>
    public required string Type { get; init; }

    /// <summary>An optional name, unique within the type.</summary>
    public string? Name { get; init; }

    /// <summary>The last known state.</summary>
    public ExecutionState State { get; init; } = ExecutionState.Unknown;

    /// <summary>Properties declared by the type.</summary>
    public IReadOnlyDictionary<string, MetadataValue> Properties { get; init; } = MetadataMaps.Empty;

    /// <summary>Free-form properties.</summary>
    public IReadOnlyDictionary<string, MetadataValue> CustomProperties { get; init; } = MetadataMaps.Empty;

    /// <summary>When the record was first stored (set by the store).</summary>
    public DateTimeOffset CreateTime { get; init; }

    /// <summary>When the record was last written (set by the store).</summary>
    public DateTimeOffset LastUpdateTime { get; init; }
}

/// <summary>
/// A context groups artifacts and executions: a pipeline, one run of it, or one node
/// (ML Metadata's <c>Context</c>). Names are unique within a context type.
/// </summary>
public sealed record Context
{
    /// <summary>The store's id; 0 before the context is first stored.</summary>
    public long Id { get; init; }

    /// <summary>The context type's name, e.g. <see cref="ContextTypes.PipelineRun"/>.</summary>
    public required string Type { get; init; }

    /// <summary>The name, unique within the type (e.g. the run id).</summary>
    public required string Name { get; init; }

    /// <summary>Properties declared by the type.</summary>
    public IReadOnlyDictionary<string, MetadataValue> Properties { get; init; } = MetadataMaps.Empty;

    /// <summary>Free-form properties.</summary>
    public IReadOnlyDictionary<string, MetadataValue> CustomProperties { get; init; } = MetadataMaps.Empty;

    /// <summary>When the record was first stored (set by the store).</summary>
    public DateTimeOffset CreateTime { get; init; }

    /// <summary>When the record was last written (set by the store).</summary>
    public DateTimeOffset LastUpdateTime { get; init; }
}

/// <summary>
/// An event links an artifact to an execution that read or wrote it (ML Metadata's <c>Event</c>); the
/// channel name and index say which input or output of the component it was (the event's path).
/// </summary>
/// <param name="ArtifactId">The artifact.</param>
/// <param name="ExecutionId">The execution.</param>
/// <param name="Type">Input, output, ...</param>
/// <param name="Channel">The component's input or output name, e.g. <c>examples</c>.</param>
/// <param name="Index">The position within the channel (0 for single-artifact channels).</param>
/// <param name="Time">When the event was recorded (set by the store on write).</param>
public sealed record Event(long ArtifactId, long ExecutionId, EventType Type, string Channel, int Index = 0, DateTimeOffset Time = default);

/// <summary>Puts an artifact into a context (ML Metadata's <c>Attribution</c>).</summary>
/// <param name="ContextId">The context.</param>
/// <param name="ArtifactId">The artifact.</param>
public sealed record Attribution(long ContextId, long ArtifactId);

/// <summary>Puts an execution into a context (ML Metadata's <c>Association</c>).</summary>
/// <param name="ContextId">The context.</param>
/// <param name="ExecutionId">The execution.</param>
public sealed record Association(long ContextId, long ExecutionId);

/// <summary>
/// An artifact and how it relates to the execution being recorded, for
/// <see cref="IMetadataStore.PutExecutionAsync(Execution, IReadOnlyList{ArtifactAndEvent}, IReadOnlyList{Context}, CancellationToken)"/>.
/// An artifact with <see cref="Artifact.Id"/> 0 is created; one with an id is updated.
/// </summary>
/// <param name="Artifact">The artifact to store or update.</param>
/// <param name="EventType">Input or output.</param>
/// <param name="Channel">The component's input or output name.</param>
/// <param name="Index">The position within the channel.</param>
public sealed record ArtifactAndEvent(Artifact Artifact, EventType EventType, string Channel, int Index = 0);

/// <summary>What <see cref="IMetadataStore.PutExecutionAsync(Execution, IReadOnlyList{ArtifactAndEvent}, IReadOnlyList{Context}, CancellationToken)"/> stored.</summary>
/// <param name="Execution">The execution with its id.</param>
/// <param name="Artifacts">The artifacts, with ids, in the order given.</param>
/// <param name="Contexts">The contexts, with ids, in the order given.</param>
public sealed record PutExecutionResult(Execution Execution, IReadOnlyList<Artifact> Artifacts, IReadOnlyList<Context> Contexts);

/// <summary>An artifact as seen from one execution: through which channel it went in or out.</summary>
/// <param name="Channel">The input or output name.</param>
/// <param name="Index">The position within the channel.</param>
/// <param name="Artifact">The artifact.</param>
public sealed record ChannelArtifact(string Channel, int Index, Artifact Artifact);

/// <summary>The inputs and outputs of one execution.</summary>
/// <param name="Execution">The execution.</param>
/// <param name="Inputs">Artifacts it read, by channel.</param>
/// <param name="Outputs">Artifacts it wrote (or reused when cached), by channel.</param>
public sealed record ExecutionIo(Execution Execution, IReadOnlyList<ChannelArtifact> Inputs, IReadOnlyList<ChannelArtifact> Outputs);

/// <summary>
/// The upstream lineage of an artifact: every artifact and execution it was derived from, transitively,
/// and the events linking them. Artifacts are ordered by distance from the root (the root first).
/// </summary>
/// <param name="Root">The artifact whose lineage this is.</param>
/// <param name="Artifacts">The root and every upstream artifact, nearest first.</param>
/// <param name="Executions">Every upstream execution, nearest first.</param>
/// <param name="Events">The input and output events linking them.</param>
public sealed record Lineage(Artifact Root, IReadOnlyList<Artifact> Artifacts, IReadOnlyList<Execution> Executions, IReadOnlyList<Event> Events);

/// <summary>The context types used by the pipeline layer, named as in TFX.</summary>
public static class ContextTypes
{
    /// <summary>One per pipeline; its name is the pipeline's name.</summary>
    public const string Pipeline = "pipeline";

    /// <summary>One per run; its name is the run id.</summary>
    public const string PipelineRun = "pipeline_run";

    /// <summary>One per node of a pipeline; its name is <c>{pipeline}.{node}</c>.</summary>
    public const string Node = "node";
}

/// <summary>Shared empty property maps, so records never hold null maps.</summary>
public static class MetadataMaps
{
    /// <summary>An empty, read-only property map.</summary>
    public static IReadOnlyDictionary<string, MetadataValue> Empty { get; } = new Dictionary<string, MetadataValue>();
}

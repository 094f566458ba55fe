namespace Serverless.Metadata;

/// <summary>
/// The metadata and lineage store, after ML Metadata: types, artifacts, executions, events and contexts.
/// Every method that writes does so in one transaction: it is recorded whole or not at all, so a crash
/// can never leave an execution with half its outputs. Records with id 0 are created; records with an id
/// are updated.
/// </summary>
public interface IMetadataStore
{
    /// <summary>Registers an artifact type, or returns the stored one, adding any new properties.
    /// A property redeclared with another value type is an <see cref="MetadataErrorKind.AlreadyExists"/> error.</summary>
    Task<MetadataType> PutArtifactTypeAsync(string name, IReadOnlyDictionary<string, PropertyType>? properties = null, CancellationToken cancellation = default);

    /// <summary>Registers an execution type (see <see cref="PutArtifactTypeAsync"/>).</summary>
    Task<MetadataType> PutExecutionTypeAsync(string name, IReadOnlyDictionary<string, PropertyType>? properties = null, CancellationToken cancellation = default);

    /// <summary>Registers a context type (see <see cref="PutArtifactTypeAsync"/>).</summary>
    Task<MetadataType> PutContextTypeAsync(string name, IReadOnlyDictionary<string, PropertyType>? properties = null, CancellationToken cancellation = default);

    /// <summary>Returns a registered type, or null.</summary>
    Task<MetadataType?> GetTypeAsync(TypeKind kind, string name, CancellationToken cancellation = default);

    /// <summary>Creates or updates an artifact.</summary>
    Task<Artifact> PutArtifactAsync(Artifact artifact, CancellationToken cancellation = default);

    /// <summary>Creates or updates an execution.</summary>
    Task<Execution> PutExecutionAsync(Execution execution, CancellationToken cancellation = default);

    /// <summary>Creates or updates a context. A new context (id 0) whose type and name are already stored
    /// updates and returns the stored one, so "get or create" is one call (TFX reuses contexts the same way).</summary>
    Task<Context> PutContextAsync(Context context, CancellationToken cancellation = default);

    /// <summary>
    /// Records an execution with its input and output artifacts, their events, and its contexts (with the
    /// associations and attributions that put the execution and artifacts in them), in one transaction.
    /// This is the call that publishes an execution's outputs: either all of it is recorded or nothing is.
    /// </summary>
    Task<PutExecutionResult> PutExecutionAsync(Execution execution, IReadOnlyList<ArtifactAndEvent> artifactEvents, IReadOnlyList<Context> contexts, CancellationToken cancellation = default);

    /// <summary>Records events between stored artifacts and executions.</summary>
    Task PutEventsAsync(IReadOnlyList<Event> events, CancellationToken cancellation = default);

    /// <summary>Puts artifacts and executions into contexts; existing links are kept.</summary>
    Task PutAttributionsAndAssociationsAsync(IReadOnlyList<Attribution> attributions, IReadOnlyList<Association> associations, CancellationToken cancellation = default);

    /// <summary>Returns an artifact, or null.</summary>
    Task<Artifact?> GetArtifactAsync(long id, CancellationToken cancellation = default);

    /// <summary>Returns the artifacts with these ids (missing ids are skipped), in id order.</summary>
    Task<IReadOnlyList<Artifact>> GetArtifactsByIdAsync(IReadOnlyCollection<long> ids, CancellationToken cancellation = default);

    /// <summary>Returns the artifacts of a type, in id order.</summary>
    Task<IReadOnlyList<Artifact>> GetArtifactsByTypeAsync(string type, CancellationToken cancellation = default);

    /// <summary>Returns the artifacts stored at a URI, in id order.</summary>
    Task<IReadOnlyList<Artifact>> GetArtifactsByUriAsync(string uri, CancellationToken cancellation = default);

    /// <summary>Returns an execution, or null.</summary>
    Task<Execution?> GetExecutionAsync(long id, CancellationToken cancellation = default);

    /// <summary>Returns the executions with these ids (missing ids are skipped), in id order.</summary>
    Task<IReadOnlyList<Execution>> GetExecutionsByIdAsync(IReadOnlyCollection<long> ids, CancellationToken cancellation = default);

    /// <summary>Returns the executions of a type, in id order.</summary>
    Task<IReadOnlyList<Execution>> GetExecutionsByTypeAsync(string type, CancellationToken cancellation = default);

    /// <summary>Returns an execution by type and name, or null.</summary>
    Task<Execution?> GetExecutionByNameAsync(string type, string name, CancellationToken cancellation = default);

    /// <summary>Returns the executions whose property or custom property <paramref name="name"/> equals
    /// <paramref name="value"/>, newest first (the cache looks executions up by cache key this way).</summary>
    Task<IReadOnlyList<Execution>> GetExecutionsByPropertyAsync(string name, MetadataValue value, CancellationToken cancellation = default);

    /// <summary>Returns a context by type and name, or null.</summary>
    Task<Context?> GetContextAsync(string type, string name, CancellationToken cancellation = default);

    /// <summary>Returns the contexts an execution is associated with.</summary>
    Task<IReadOnlyList<Context>> GetContextsByExecutionAsync(long executionId, CancellationToken cancellation = default);

    /// <summary>Returns the contexts an artifact is attributed to.</summary>
    Task<IReadOnlyList<Context>> GetContextsByArtifactAsync(long artifactId, CancellationToken cancellation = default);

    /// <summary>Returns the executions in a context (e.g. the executions of a run), in id order.</summary>
    Task<IReadOnlyList<Execution>> GetExecutionsByContextAsync(long contextId, CancellationToken cancellation = default);

    /// <summary>Returns the artifacts in a context, in id order.</summary>
    Task<IReadOnlyList<Artifact>> GetArtifactsByContextAsync(long contextId, CancellationToken cancellation = default);

    /// <summary>Returns the events of these executions.</summary>
    Task<IReadOnlyList<Event>> GetEventsByExecutionIdsAsync(IReadOnlyCollection<long> executionIds, CancellationToken cancellation = default);

    /// <summary>Returns the events of these artifacts.</summary>
    Task<IReadOnlyList<Event>> GetEventsByArtifactIdsAsync(IReadOnlyCollection<long> artifactIds, CancellationToken cancellation = default);
}

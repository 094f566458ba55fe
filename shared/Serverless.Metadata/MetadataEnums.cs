namespace Serverless.Metadata;

/// <summary>The type of a property value; numbers follow ML Metadata's <c>PropertyType</c>.</summary>
public enum PropertyType
{
    /// <summary>Not set.</summary>
    Unknown = 0,

    /// <summary>64-bit integer.</summary>
    Int = 1,

    /// <summary>64-bit floating point.</summary>
    Double = 2,

    /// <summary>UTF-8 string.</summary>
    String = 3,

    /// <summary>Boolean.</summary>
    Boolean = 6,
}

/// <summary>The lifecycle of an artifact (ML Metadata's <c>Artifact.State</c>).</summary>
public enum ArtifactState
{
    /// <summary>Not set.</summary>
    Unknown = 0,

    /// <summary>The artifact may exist: it is being written.</summary>
    Pending = 1,

    /// <summary>The artifact exists and is complete, unless something outside the system deleted it.</summary>
    Live = 2,

    /// <summary>The artifact should be deleted; it is no longer offered to the cache.</summary>
    MarkedForDeletion = 3,

    /// <summary>The artifact's content is gone.</summary>
    Deleted = 4,

    /// <summary>The producing execution failed or was canceled before the artifact was complete.</summary>
    Abandoned = 5,
}

/// <summary>The lifecycle of an execution (ML Metadata's <c>Execution.State</c>).</summary>
public enum ExecutionState
{
    /// <summary>Not set.</summary>
    Unknown = 0,

    /// <summary>Recorded but not started.</summary>
    New = 1,

    /// <summary>Running now (or crashed while running).</summary>
    Running = 2,

    /// <summary>Finished successfully; its outputs are recorded.</summary>
    Complete = 3,

    /// <summary>Finished with an error; no outputs are recorded.</summary>
    Failed = 4,

    /// <summary>Not run: the outputs of an earlier equivalent execution were reused.</summary>
    Cached = 5,

    /// <summary>Stopped before it finished.</summary>
    Canceled = 6,
}

/// <summary>The kind of link between an artifact and an execution (ML Metadata's <c>Event.Type</c>).</summary>
public enum EventType
{
    /// <summary>Not set.</summary>
    Unknown = 0,

    /// <summary>An output declared before the execution ran.</summary>
    DeclaredOutput = 1,

    /// <summary>An input declared before the execution ran.</summary>
    DeclaredInput = 2,

    /// <summary>The execution read the artifact.</summary>
    Input = 3,

    /// <summary>The execution produced (or, when cached, reused) the artifact.</summary>
    Output = 4,

    /// <summary>An input used by the system, not the user.</summary>
    InternalInput = 5,

    /// <summary>An output used by the system, not the user.</summary>
    InternalOutput = 6,

    /// <summary>An output that is being written.</summary>
    PendingOutput = 7,
}

/// <summary>Which of the three type families a <see cref="MetadataType"/> belongs to.</summary>
public enum TypeKind
{
    /// <summary>An artifact type, e.g. <c>Examples</c>.</summary>
    Artifact = 1,

    /// <summary>An execution type, e.g. a component type.</summary>
    Execution = 2,

    /// <summary>A context type, e.g. <c>pipeline_run</c>.</summary>
    Context = 3,
}

namespace Serverless.Hosting.Runtime;

/// <summary>
/// An orchestration or activity was scheduled under a name no registration of this worker knows. The instance (or the
/// calling orchestration, for an activity) fails at once with this error type and a message naming the task, instead
/// of DTFx's default for a missing type: an abandoned work item retried every 10 seconds forever.
/// </summary>
public sealed class UnknownTaskException : Exception
{
    /// <summary>Creates the exception for <paramref name="kind"/> (orchestrator or activity) <paramref name="name"/>.</summary>
    /// <param name="kind">"orchestrator" or "activity".</param>
    /// <param name="name">The unknown name.</param>
    public UnknownTaskException(string kind, string name)
        : base($"No {kind} named '{name}' is registered with this worker (names are case-insensitive); register it with DurableTaskRegistry.Add{(kind == "activity" ? "Activity" : "Orchestrator")}.")
    {
        Kind = kind;
        TaskName = name;
    }

    /// <summary>Creates the exception with a message only (serialization and tooling).</summary>
    public UnknownTaskException()
        : this("task", "")
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    public UnknownTaskException(string message)
        : base(message)
    {
        Kind = "task";
        TaskName = "";
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public UnknownTaskException(string message, Exception innerException)
        : base(message, innerException)
    {
        Kind = "task";
        TaskName = "";
    }

    /// <summary>"orchestrator" or "activity".</summary>
    public string Kind { get; }

    /// <summary>The name nobody registered.</summary>
    public string TaskName { get; }
}

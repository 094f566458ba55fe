namespace Serverless.Hosting.Client;

/// <summary>An operation addressed an orchestration instance that does not exist (never started, or purged).</summary>
public sealed class InstanceNotFoundException : InvalidOperationException
{
    /// <summary>Creates the exception for <paramref name="instanceId"/>.</summary>
    public InstanceNotFoundException(string instanceId)
        : base($"No orchestration instance with id '{instanceId}'.")
    {
        InstanceId = instanceId;
    }

    /// <summary>Creates the exception without an instance id.</summary>
    public InstanceNotFoundException()
        : this("")
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public InstanceNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
        InstanceId = "";
    }

    /// <summary>The instance that was not found.</summary>
    public string InstanceId { get; }
}

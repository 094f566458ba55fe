using DurableTask.Core;

namespace Serverless.DurableTask.Sqlite;

/// <summary>An orchestration work item with what the provider needs to commit its turns under the lock it holds.</summary>
internal sealed class SqliteOrchestrationWorkItem : TaskOrchestrationWorkItem
{
    /// <summary>
    /// The token written into the instance row when it was locked; a commit checks it (lock loss detection). Replaced
    /// when this service's own dispatcher locks the instance again after the lock expired (a stall longer than the lock
    /// timeout): the work item keeps the instance instead of a second work item running beside it.
    /// </summary>
    public required long LockToken { get; set; }

    /// <summary>Row ids of the messages in <see cref="TaskOrchestrationWorkItem.NewMessages"/>, deleted by the commit.</summary>
    public List<long> MessageIds { get; set; } = [];

    /// <summary>History rows stored for <see cref="PersistedExecutionId"/>; the next commit appends after them.</summary>
    public int PersistedEvents { get; set; }

    /// <summary>The execution whose history is stored; a commit of another execution (ContinueAsNew) replaces it.</summary>
    public string? PersistedExecutionId { get; set; }

    /// <summary>The execution id in the instance row; a commit of another execution writes the new input.</summary>
    public string? RowExecutionId { get; set; }

    /// <summary>The runtime status in the instance row; clients waiting for the instance are woken when it changes.</summary>
    public OrchestrationStatus RowStatus { get; set; }

    /// <summary>False once the lock was released, given up or found lost.</summary>
    public volatile bool LockHeld = true;

    /// <summary>True while an extended session waits for messages (no turn in progress): the lock can be given back.</summary>
    public volatile bool InSessionWait;

    /// <summary>The session's known messages not yet delivered (visible or not), by row id.</summary>
    public SortedDictionary<long, PendingMessage> SessionPending { get; set; } = [];

    /// <summary>Row ids of the messages already given to DTFx in this session: never delivered twice.</summary>
    public HashSet<long> SessionDelivered { get; } = [];

    /// <summary>The hub's external version at the session's last read of the file; -1: not read yet.</summary>
    public long SessionExternalVersion { get; set; } = -1;

    /// <summary>When (Environment.TickCount64) the session last read the file.</summary>
    public long SessionReadTick { get; set; }

    /// <summary>The extended session of this work item, if sessions are on.</summary>
    public SqliteOrchestrationSession? SqliteSession { get; set; }
}

using DurableTask.Core;

namespace Serverless.DurableTask.Sqlite;

/// <summary>An orchestration work item with what the provider needs to commit its turns under the lock it holds.</summary>
internal sealed class SqliteOrchestrationWorkItem : TaskOrchestrationWorkItem
{
    /// <summary>The token written into the instance row when it was locked; a commit checks it (lock loss detection).</summary>
    public required long LockToken { get; init; }

    /// <summary>Row ids of the messages in <see cref="TaskOrchestrationWorkItem.NewMessages"/>, deleted by the commit.</summary>
    public List<long> MessageIds { get; set; } = [];

    /// <summary>History rows stored for <see cref="PersistedExecutionId"/>; the next commit appends after them.</summary>
    public int PersistedEvents { get; set; }

    /// <summary>The execution whose history is stored; a commit of another execution (ContinueAsNew) replaces it.</summary>
    public string? PersistedExecutionId { get; set; }

    /// <summary>The execution id in the instance row; a commit of another execution writes the new input.</summary>
    public string? RowExecutionId { get; set; }

    /// <summary>False once the lock was released, given up or found lost.</summary>
    public volatile bool LockHeld = true;

    /// <summary>True while an extended session waits for messages (no turn in progress): the lock can be given back.</summary>
    public volatile bool InSessionWait;

    /// <summary>The extended session of this work item, if sessions are on.</summary>
    public SqliteOrchestrationSession? SqliteSession { get; set; }
}

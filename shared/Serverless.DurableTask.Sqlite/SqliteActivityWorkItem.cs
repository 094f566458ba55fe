using DurableTask.Core;

namespace Serverless.DurableTask.Sqlite;

/// <summary>An activity work item: the task row it came from and the lock token it was taken with.</summary>
internal sealed class SqliteActivityWorkItem : TaskActivityWorkItem
{
    /// <summary>The row id in the tasks table.</summary>
    public required long RowId { get; init; }

    /// <summary>The token written into the row when it was locked (replaced if this service locks it again after expiry).</summary>
    public required long LockToken { get; set; }

    /// <summary>How many times the task was locked before this time (0 the first time).</summary>
    public required int DequeueCount { get; init; }
}

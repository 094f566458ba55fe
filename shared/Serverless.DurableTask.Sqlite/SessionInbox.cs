using System.Collections.Concurrent;
using DurableTask.Core;

namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// The in-process mailbox of an extended session: messages for its instance committed by this process are handed over
/// here with their row ids right after the commit, so the session neither reads nor deserializes them again. The file
/// stays the truth: the session reads it when it starts, when another process wrote to the file, and when it has
/// waited long; row ids (never reused) keep a message from being delivered twice.
/// </summary>
internal sealed class SessionInbox
{
    /// <summary>Pulsed when a message is handed over, or when another process wrote to the file.</summary>
    public AsyncSignal Signal { get; } = new();

    /// <summary>Messages committed for the instance, in commit order.</summary>
    public ConcurrentQueue<PendingMessage> Queue { get; } = new();
}

/// <summary>A stored message of an instance: its row id, the message and when it becomes visible (clock ticks).</summary>
internal readonly record struct PendingMessage(long Id, TaskMessage Message, long VisibleAt);

using DurableTask.Core;

namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// DTFx's extended session for one locked instance: DTFx keeps the orchestrator loaded between turns and asks the
/// session for the instance's next messages, which then resume the live orchestrator instead of replaying its history.
/// The session gets the instance's messages committed in this process through its inbox, reads the file when another
/// process wrote to it, and waits for the visibility time of the instance's next timer. It returns
/// null (DTFx then unloads the orchestrator and releases the lock) on idle timeout, lock loss or eviction.
/// </summary>
internal sealed class SqliteOrchestrationSession(SqliteOrchestrationService service, SqliteOrchestrationWorkItem workItem, SessionInbox inbox)
    : IOrchestrationSession
{
    /// <summary>Where this process hands over the instance's messages (see <see cref="SessionInbox"/>).</summary>
    public SessionInbox Inbox { get; } = inbox;

    public Task<IList<TaskMessage>?> FetchNewOrchestrationMessagesAsync(TaskOrchestrationWorkItem workItem1) =>
        service.FetchSessionMessagesAsync(workItem, this);

    public Task EndSessionAsync()
    {
        service.EndSession(workItem, this);
        return Task.CompletedTask;
    }
}

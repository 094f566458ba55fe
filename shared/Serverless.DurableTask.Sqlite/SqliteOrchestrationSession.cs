using DurableTask.Core;

namespace Serverless.DurableTask.Sqlite;

/// <summary>
/// DTFx's extended session for one locked instance: DTFx keeps the orchestrator loaded between turns and asks the
/// session for the instance's next messages, which then resume the live orchestrator instead of replaying its history.
/// The session waits on the instance's in-process signal (pulsed when a message for it is committed here), on the
/// visibility time of its next timer, and on the polling interval for messages written by other processes. It returns
/// null (DTFx then unloads the orchestrator and releases the lock) on idle timeout, lock loss or eviction.
/// </summary>
internal sealed class SqliteOrchestrationSession(SqliteOrchestrationService service, SqliteOrchestrationWorkItem workItem, AsyncSignal signal)
    : IOrchestrationSession
{
    /// <summary>Pulsed when a message for the instance is committed in this process.</summary>
    public AsyncSignal Signal { get; } = signal;

    public Task<IList<TaskMessage>?> FetchNewOrchestrationMessagesAsync(TaskOrchestrationWorkItem workItem1) =>
        service.FetchSessionMessagesAsync(workItem, this);

    public Task EndSessionAsync()
    {
        service.EndSession(workItem, this);
        return Task.CompletedTask;
    }
}

using Azure;
using DurableTask.Core;

namespace Serverless.Hosting.Providers;

/// <summary>
/// The Azure Storage provider as the worker's dispatchers see it: DTFx's <c>AzureStorageOrchestrationService</c> with
/// one change, no back-off after a work item fails only because its queue message was already handed over or deleted
/// (<c>PopReceiptMismatch</c>, <c>MessageNotFound</c>).
/// </summary>
/// <remarks>
/// Why: the provider asks DTFx's dispatchers for a 10-second back-off after any processing failure, and a dispatcher that
/// backs off waits that long after <em>every</em> work item it fetches until five succeed in a row. After a storage outage
/// the messages that were in flight come back once their visibility expires while the worker still holds the old copies;
/// finishing either copy then fails the other's delete with <c>PopReceiptMismatch</c>, again and again, so a hub that
/// had lost storage for 10 seconds ran one orchestration step per 10 seconds for minutes (the Azurite outage test
/// measured it). Such a failure means the message's work is done or owned elsewhere: nothing to wait for. Every other
/// failure keeps the provider's back-off, as under Durable Functions.
/// </remarks>
/// <param name="inner">The provider's service.</param>
public sealed class AzureStorageWorkerService(IOrchestrationService inner) : ForwardingOrchestrationService(inner)
{
    /// <summary>0 when <paramref name="exception"/> only says the message is gone (<see cref="IsMessageGone"/>), else the provider's delay.</summary>
    public override int GetDelayInSecondsAfterOnProcessException(Exception exception) =>
        IsMessageGone(exception) ? 0 : base.GetDelayInSecondsAfterOnProcessException(exception);

    /// <summary>
    /// True when <paramref name="exception"/> (or one it wraps) is a queue's answer that the message is no longer this
    /// worker's to delete or update: <c>PopReceiptMismatch</c> (another dequeue took it) or <c>MessageNotFound</c>
    /// (already deleted).
    /// </summary>
    public static bool IsMessageGone(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is RequestFailedException { ErrorCode: "PopReceiptMismatch" or "MessageNotFound" }) return true;
            if (e is AggregateException aggregate) return aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsMessageGone);
        }

        return false;
    }
}

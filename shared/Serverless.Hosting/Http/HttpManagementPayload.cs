namespace Serverless.Hosting.Http;

/// <summary>The links returned when an instance is started (Durable Functions' <c>HttpManagementPayload</c>).</summary>
/// <param name="Id">Instance id.</param>
/// <param name="StatusQueryGetUri">GET: the instance's status.</param>
/// <param name="SendEventPostUri">POST: raise an event (replace <c>{eventName}</c>).</param>
/// <param name="TerminatePostUri">POST: terminate (replace <c>{text}</c> with a reason).</param>
/// <param name="SuspendPostUri">POST: suspend (replace <c>{text}</c>).</param>
/// <param name="ResumePostUri">POST: resume (replace <c>{text}</c>).</param>
/// <param name="PurgeHistoryDeleteUri">DELETE: purge the finished instance.</param>
/// <param name="RestartPostUri">POST: restart the instance with its original input (<c>restartWithNewInstanceId=true</c> for a copy under a new id).</param>
public sealed record HttpManagementPayload(
    string Id,
    string StatusQueryGetUri,
    string SendEventPostUri,
    string TerminatePostUri,
    string SuspendPostUri,
    string ResumePostUri,
    string PurgeHistoryDeleteUri,
    string RestartPostUri);

using System.Globalization;
using System.Text.Json;
using DurableTask.Core;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Serverless.Hosting.Http;

/// <summary>
/// Writes instance status and history in Durable Functions' JSON shapes. Inputs, outputs and custom status are stored
/// as JSON text by the SDK's data converter and are embedded as JSON (not as strings holding JSON).
/// </summary>
internal static class StatusJson
{
    /// <summary>Writes the status fields of one instance; leaves the object open for optional fields.</summary>
    public static void WriteStatus(Utf8JsonWriter w, OrchestrationMetadata m, bool showInput)
    {
        w.WriteStartObject();
        w.WriteString("name", m.Name);
        w.WriteString("instanceId", m.InstanceId);
        w.WriteString("runtimeStatus", m.RuntimeStatus.ToString());
        WriteRaw(w, "input", showInput ? m.SerializedInput : null);
        WriteRaw(w, "customStatus", m.SerializedCustomStatus);
        if (m.RuntimeStatus == OrchestrationRuntimeStatus.Failed && m.FailureDetails is { } failure)
            w.WriteString("output", $"{failure.ErrorType}: {failure.ErrorMessage}"); // Durable Functions shows a failed instance's error as its output.
        else
            WriteRaw(w, "output", m.SerializedOutput);
        w.WriteString("createdTime", Time(m.CreatedAt.UtcDateTime));
        w.WriteString("lastUpdatedTime", Time(m.LastUpdatedAt.UtcDateTime));
        if (m.FailureDetails is { } f)
        {
            w.WritePropertyName("failureDetails");
            WriteFailure(w, f.ErrorType, f.ErrorMessage, f.StackTrace, f.InnerFailure is { } i ? ToCore(i) : null);
        }
    }

    private static FailureDetails ToCore(TaskFailureDetails f) =>
        new(f.ErrorType, f.ErrorMessage, f.StackTrace, f.InnerFailure is { } i ? ToCore(i) : null, isNonRetriable: false);

    /// <summary>
    /// Writes DTFx history as Durable Functions shows it: turn markers (OrchestratorStarted/Completed) are left out,
    /// TaskScheduled and SubOrchestrationInstanceCreated are folded into their completion events as
    /// <c>FunctionName</c> and <c>ScheduledTime</c>, and results appear only with <c>showHistoryOutput</c>.
    /// </summary>
    public static void WriteHistory(Utf8JsonWriter w, IList<HistoryEvent> history, bool showInput, bool showOutput)
    {
        var scheduled = new Dictionary<int, (string Name, DateTime At)>();
        foreach (var e in history)
        {
            if (e is TaskScheduledEvent ts) scheduled[ts.EventId] = (ts.Name ?? "", ts.Timestamp);
            else if (e is SubOrchestrationInstanceCreatedEvent sc) scheduled[sc.EventId] = (sc.Name ?? "", sc.Timestamp);
        }
        w.WriteStartArray();
        foreach (var e in history)
        {
            if (e is OrchestratorStartedEvent or OrchestratorCompletedEvent or TaskScheduledEvent or SubOrchestrationInstanceCreatedEvent) continue;
            w.WriteStartObject();
            w.WriteString("EventType", e.EventType.ToString());
            if (e.EventId >= 0) w.WriteNumber("EventId", e.EventId);
            switch (e)
            {
                case ExecutionStartedEvent s:
                    w.WriteString("FunctionName", s.Name);
                    if (showInput) WriteRaw(w, "Input", s.Input);
                    if (s.ScheduledStartTime is { } start) w.WriteString("ScheduledStartTime", Precise(start));
                    break;
                case ContinueAsNewEvent can: // a subclass of ExecutionCompletedEvent: its Result is the new input
                    if (showOutput) WriteRaw(w, "Input", can.Result);
                    break;
                case ExecutionCompletedEvent c:
                    w.WriteString("OrchestrationStatus", c.OrchestrationStatus.ToString());
                    if (showOutput) WriteRaw(w, "Result", c.Result);
                    if (c.FailureDetails is { } cf)
                    {
                        w.WritePropertyName("FailureDetails");
                        WriteFailure(w, cf.ErrorType, cf.ErrorMessage, cf.StackTrace, cf.InnerFailure);
                    }
                    break;
                case ExecutionTerminatedEvent t:
                    WriteRaw(w, "Input", t.Input);
                    break;
                case ExecutionSuspendedEvent su:
                    if (su.Reason != null) w.WriteString("Reason", su.Reason);
                    break;
                case ExecutionResumedEvent r:
                    if (r.Reason != null) w.WriteString("Reason", r.Reason);
                    break;
                case TaskCompletedEvent tc:
                    WriteCompleted(w, scheduled, tc.TaskScheduledId, tc.Result, showOutput);
                    break;
                case SubOrchestrationInstanceCompletedEvent soc:
                    WriteCompleted(w, scheduled, soc.TaskScheduledId, soc.Result, showOutput);
                    break;
                case TaskFailedEvent tf:
                    WriteFailed(w, scheduled, tf.TaskScheduledId, tf.Reason, tf.FailureDetails);
                    break;
                case SubOrchestrationInstanceFailedEvent sof:
                    WriteFailed(w, scheduled, sof.TaskScheduledId, sof.Reason, sof.FailureDetails);
                    break;
                case TimerCreatedEvent tcr:
                    w.WriteString("FireAt", Precise(tcr.FireAt));
                    break;
                case TimerFiredEvent tfi:
                    w.WriteNumber("TimerId", tfi.TimerId);
                    w.WriteString("FireAt", Precise(tfi.FireAt));
                    break;
                case EventRaisedEvent er:
                    w.WriteString("Name", er.Name);
                    if (showOutput) WriteRaw(w, "Input", er.Input);
                    break;
                case EventSentEvent es:
                    w.WriteString("Name", es.Name);
                    w.WriteString("InstanceId", es.InstanceId);
                    if (showOutput) WriteRaw(w, "Input", es.Input);
                    break;
            }
            w.WriteString("Timestamp", Precise(e.Timestamp));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteScheduled(Utf8JsonWriter w, Dictionary<int, (string Name, DateTime At)> scheduled, int id)
    {
        if (!scheduled.TryGetValue(id, out var s)) return;
        w.WriteString("FunctionName", s.Name);
        w.WriteString("ScheduledTime", Precise(s.At));
    }

    // Activities and sub-orchestrations complete and fail with the same fields, as Durable Functions shows them.
    private static void WriteCompleted(Utf8JsonWriter w, Dictionary<int, (string Name, DateTime At)> scheduled, int id, string? result, bool showOutput)
    {
        WriteScheduled(w, scheduled, id);
        if (showOutput) WriteRaw(w, "Result", result);
    }

    private static void WriteFailed(Utf8JsonWriter w, Dictionary<int, (string Name, DateTime At)> scheduled, int id, string? reason, FailureDetails? failure)
    {
        WriteScheduled(w, scheduled, id);
        w.WriteString("Reason", failure?.ErrorMessage ?? reason);
        if (failure is null) return;
        w.WritePropertyName("FailureDetails");
        WriteFailure(w, failure.ErrorType, failure.ErrorMessage, failure.StackTrace, failure.InnerFailure);
    }

    private static void WriteFailure(Utf8JsonWriter w, string errorType, string errorMessage, string? stackTrace, FailureDetails? inner)
    {
        w.WriteStartObject();
        w.WriteString("errorType", errorType);
        w.WriteString("errorMessage", errorMessage);
        if (stackTrace != null) w.WriteString("stackTrace", stackTrace);
        if (inner != null)
        {
            w.WritePropertyName("innerFailure");
            WriteFailure(w, inner.ErrorType, inner.ErrorMessage, inner.StackTrace, inner.InnerFailure);
        }
        w.WriteEndObject();
    }

    /// <summary>Embeds stored JSON as JSON; text that is not JSON (a custom converter's) is written as a string.</summary>
    private static void WriteRaw(Utf8JsonWriter w, string name, string? json)
    {
        w.WritePropertyName(name);
        if (json is null) w.WriteNullValue();
        else if (IsJson(json)) w.WriteRawValue(json, skipInputValidation: true);
        else w.WriteStringValue(json);
    }

    private static bool IsJson(string text)
    {
        try
        {
            var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(text));
            if (!reader.Read()) return false;
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    // Instance times as Durable Functions writes them (seconds, 'Z'); event times with full precision.
    private static string Time(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Precise(DateTime utc) => DateTime.SpecifyKind(utc, DateTimeKind.Utc).ToString("o", CultureInfo.InvariantCulture);
}

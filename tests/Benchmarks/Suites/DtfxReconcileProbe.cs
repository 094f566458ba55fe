using System.Diagnostics;
using System.Reflection;
using DurableTask.Core;
using DurableTask.Core.History;

namespace Benchmarks.Suites;

/// <summary>
/// Times DTFx's own <c>TaskOrchestrationDispatcher.ReconcileMessagesWithState</c> (internal, called through
/// reflection) over the turns of a fan-out of n activities, with no provider at all. DTFx runs it at the start of every
/// orchestration turn and, for each activity result, looks up the matching <c>TaskScheduledEvent</c> with
/// <c>Events.OfType&lt;TaskScheduledEvent&gt;().LastOrDefault(...)</c>, a scan of the whole history; for one
/// orchestration the turns are serial, so <c>n / time</c> bounds the fan-out's rate whatever the storage costs. The
/// events here are allocated together (a worker's are spread over its heap), so the figure is on the fast side.
/// </summary>
internal static class DtfxReconcileProbe
{
    /// <summary>Runs the fan-out's reconciliation once and returns its time in microseconds per activity result.</summary>
    public static double MicrosecondsPerResult(int n, int batch)
    {
        var method = typeof(TaskOrchestrationDispatcher).GetMethod("ReconcileMessagesWithState", BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new MissingMethodException("DTFx no longer has TaskOrchestrationDispatcher.ReconcileMessagesWithState; update the probe");
        var logHelperType = typeof(TaskOrchestrationDispatcher).Assembly.GetType("DurableTask.Core.Logging.LogHelper", throwOnError: true)!;
        var logHelper = Activator.CreateInstance(logHelperType, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, null, [null], null);

        var instance = new OrchestrationInstance { InstanceId = "probe", ExecutionId = "e1" };
        var state = new OrchestrationRuntimeState();
        state.AddEvent(new OrchestratorStartedEvent(-1));
        state.AddEvent(new ExecutionStartedEvent(-1, n.ToString(System.Globalization.CultureInfo.InvariantCulture)) { OrchestrationInstance = instance, Name = "FanOut" });
        for (var i = 0; i < n; i++) state.AddEvent(new TaskScheduledEvent(i, "Inc", null, i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        state.AddEvent(new OrchestratorCompletedEvent(-1));
        var workItem = new TaskOrchestrationWorkItem { InstanceId = instance.InstanceId, OrchestrationRuntimeState = state };

        var sw = new Stopwatch();
        for (var first = 0; first < n; first += batch)
        {
            var messages = new List<TaskMessage>(batch);
            for (var i = first; i < Math.Min(n, first + batch); i++)
                messages.Add(new TaskMessage { OrchestrationInstance = instance, Event = new TaskCompletedEvent(-1, i, "1") });
            workItem.NewMessages = messages;
            state.AddEvent(new OrchestratorStartedEvent(-1));
            sw.Start();
            var ok = (bool)method.Invoke(null, [workItem, nameof(TaskOrchestrationDispatcher), ErrorPropagationMode.UseFailureDetails, logHelper])!;
            sw.Stop();
            if (!ok) throw new InvalidOperationException("DTFx refused the probe's messages");
            state.AddEvent(new OrchestratorCompletedEvent(-1));
        }
        if (state.Events.OfType<TaskCompletedEvent>().Count() != n) throw new InvalidOperationException("DTFx did not add every result to the history");
        return sw.Elapsed.TotalMicroseconds / n;
    }
}

using System.Globalization;
using DurableTask.Core;
using Microsoft.DurableTask;
using Serverless.DurableTask.Sqlite;
using Serverless.DurableTask.Sqlite.Testing;

// A DTFx worker on the SQLite provider, for crash tests. Arguments:
//   --db PATH            the database file
//   --log PATH           activities append "start <instance> <step>" and "done <instance> <step>" lines here
//   --lock-ms N          work-item lock timeout (renewed every N/4 ms)
//   --hang-activity K    step K's activity writes LOG.hung and sleeps forever (until the test kills the process)
//   --hang-turn K        the orchestration turn that receives step K's result writes LOG.hung and sleeps forever
// It writes LOG.ready.<pid> once its worker runs, and runs until killed or until its standard input closes.
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
var db = options["db"];
var log = options["log"];
var lockMs = int.Parse(options.GetValueOrDefault("lock-ms", "2000"), CultureInfo.InvariantCulture);
var hangActivity = int.Parse(options.GetValueOrDefault("hang-activity", "-1"), CultureInfo.InvariantCulture);
var hangTurn = int.Parse(options.GetValueOrDefault("hang-turn", "-1"), CultureInfo.InvariantCulture);
var logLock = new Lock();

void Append(string line)
{
    lock (logLock) File.AppendAllText(log, line + "\n");
}

void Hang()
{
    File.WriteAllText(log + ".hung", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
    Thread.Sleep(Timeout.Infinite);
}

await using var service = new SqliteOrchestrationService(new SqliteOrchestrationServiceSettings
{
    DatabasePath = db,
    WorkItemLockTimeout = TimeSpan.FromMilliseconds(lockMs),
    LockRenewalInterval = TimeSpan.FromMilliseconds(lockMs / 4.0),
    PollingInterval = TimeSpan.FromMilliseconds(50),
});
await service.CreateIfNotExistsAsync();
var worker = new TaskHubWorker(service) { ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails };
worker.AddTaskOrchestrations(SdkShims.Orchestrator<int, int>("CrashSequence", async (ctx, steps) =>
{
    var sum = 0;
    for (var i = 0; i < steps; i++)
    {
        sum += await ctx.CallActivityAsync<int>("CrashStep", new StepInput(ctx.InstanceId, i));
        if (i == hangTurn && !ctx.IsReplaying) Hang();
    }
    return sum;
}));
worker.AddTaskActivities(SdkShims.Activity<StepInput, int>("CrashStep", (_, input) =>
{
    ArgumentNullException.ThrowIfNull(input);
    Append($"start {input.Instance} {input.Step}");
    if (input.Step == hangActivity) Hang();
    Append($"done {input.Instance} {input.Step}");
    return Task.FromResult<int>(input.Step);
}));
await worker.StartAsync();
File.WriteAllText(log + ".ready." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "");
await Console.In.ReadToEndAsync();
await worker.StopAsync(true);

/// <summary>The input of one step.</summary>
internal sealed record StepInput(string Instance, int Step);

using Serverless.Durable;
using Serverless.Durable.AzureStorage;
using Serverless.Durable.Backend;
using Serverless.Durable.Sqlite;

// Usage: TestHost --db FILE --log FILE [--lock-ms N] [--hang-activity K] [--hang-turn K] [--client-orchestrations N --steps S]
//        TestHost --backend azure --connection CS --hub NAME --log FILE [--lease-ms N] [--lock-ms N] [--step-ms N]
// With --backend azure, log lines end with the process id ("done i 3 1234"), so a test can tell which worker ran what,
// and --step-ms makes every step take that long (so a kill lands in the middle of a run).
// Activities append "start i" / "done i" lines (with the instance id) to the log file, flushed to disk, so the
// test can count executions. --hang-activity K blocks inside step K; --hang-turn K blocks inside the
// orchestrator turn that follows step K's completion; both first write "hung" to FILE.hung so the test
// knows when to kill.
var opts = new Dictionary<string, string>();
for (var i = 0; i + 1 < args.Length; i += 2) opts[args[i].TrimStart('-')] = args[i + 1];
var backendKind = opts.GetValueOrDefault("backend", "sqlite");
var pidSuffix = backendKind == "azure" ? " " + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) : "";
var stepMs = int.Parse(opts.GetValueOrDefault("step-ms", "0"), System.Globalization.CultureInfo.InvariantCulture);
var log = opts["log"];
var lockMs = int.Parse(opts.GetValueOrDefault("lock-ms", "1500"), System.Globalization.CultureInfo.InvariantCulture);
var hangActivity = opts.TryGetValue("hang-activity", out var ha) ? int.Parse(ha, System.Globalization.CultureInfo.InvariantCulture) : -1;
var hangTurn = opts.TryGetValue("hang-turn", out var ht) ? int.Parse(ht, System.Globalization.CultureInfo.InvariantCulture) : -1;
var logLock = new object();

void Append(string line)
{
    // Several worker processes append to one log: without a lock between processes two of them can write at the same
    // end-of-file offset and one line is lost. A lock file opened with FileShare.None (flock on Linux) serializes the
    // writers; readers of the log itself are not blocked.
    var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
    lock (logLock)
    {
        for (var attempt = 0; ; attempt++)
        {
            FileStream? guard = null;
            try
            {
                guard = new FileStream(log + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (attempt < 5000)
            {
                Thread.Sleep(1);
                continue;
            }
            using (guard)
            {
                using var f = new FileStream(log, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
                f.Write(bytes);
                f.Flush(true);
            }
            return;
        }
    }
}

void Hang()
{
    File.WriteAllText(log + ".hung", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
    Thread.Sleep(Timeout.Infinite);
}

var registry = new DurableTaskRegistry()
    .AddActivityFunc<Step, int>("Step", (ctx, s) =>
    {
        Append($"start {ctx.InstanceId} {s.Index}{pidSuffix}");
        if (s.Index == hangActivity) Hang();
        if (stepMs > 0) Thread.Sleep(stepMs);
        Append($"done {ctx.InstanceId} {s.Index}{pidSuffix}");
        return s.Index;
    })
    .AddOrchestratorFunc<int, int>("CrashSequence", async (ctx, steps) =>
    {
        var sum = 0;
        for (var i = 0; i < steps; i++)
        {
            sum += await ctx.CallActivityAsync<int>("Step", new Step(i));
            if (i == hangTurn && !ctx.IsReplaying) Hang();
        }
        return sum;
    });

await using IOrchestrationBackend backend = backendKind switch
{
    "sqlite" => new SqliteOrchestrationBackend(opts["db"]),
    "azure" => new AzureStorageOrchestrationBackend(new AzureStorageBackendOptions
    {
        ConnectionString = opts["connection"],
        TaskHubName = opts["hub"],
        LeaseTimeout = TimeSpan.FromMilliseconds(int.Parse(opts.GetValueOrDefault("lease-ms", "3000"), System.Globalization.CultureInfo.InvariantCulture)),
        LeaseRenewInterval = TimeSpan.FromMilliseconds(int.Parse(opts.GetValueOrDefault("lease-ms", "3000"), System.Globalization.CultureInfo.InvariantCulture) / 4.0),
    }),
    _ => throw new ArgumentException($"unknown --backend '{backendKind}' (sqlite, azure)"),
};
await using var worker = new DurableTaskWorker(backend, registry, new DurableTaskWorkerOptions
{
    LockTimeout = TimeSpan.FromMilliseconds(lockMs),
    MaxPollingInterval = TimeSpan.FromMilliseconds(50),
});
await worker.StartAsync();
File.WriteAllText(log + ".ready." + Environment.ProcessId, "");
await Task.Delay(Timeout.Infinite);

/// <summary>Activity input.</summary>
internal sealed record Step(int Index);

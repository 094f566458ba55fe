using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.Hosting;
using Serverless.Hosting.Providers;

// A worker process for kill tests, provider-neutral: the provider comes from host.json like in the product (Azure
// Storage with a connection string setting, or storageProvider.type sqlite with a setting naming the database file,
// which several workers open together).
// Usage: TestHost --host-json FILE --log FILE [--setting NAME=VALUE]... [--step-ms N] [--hang-activity K] [--hang-turn K] [--lease-ms N]
// Activities append "start <instance> <step> <pid>" / "done <instance> <step> <pid>" lines, live orchestrator turns
// "turn <instance> <step> <pid>", to the log file, flushed to
// disk, so a test can count executions and tell which process ran what. --hang-activity K blocks inside step K;
// --hang-turn K blocks inside the orchestrator turn that follows step K's completion; both first write the pid to
// FILE.hung so the test knows when to kill. --lease-ms shortens the Azure Storage provider's partition leases (so a
// takeover after a kill does not wait 30 s). When started, the process writes FILE.ready.<pid>.
var settings = new Dictionary<string, string>(StringComparer.Ordinal);
var opts = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    var key = args[i].TrimStart('-');
    if (key == "setting")
    {
        var eq = args[i + 1].IndexOf('=', StringComparison.Ordinal);
        settings[args[i + 1][..eq]] = args[i + 1][(eq + 1)..];
    }
    else
    {
        opts[key] = args[i + 1];
    }
}
int Int(string name, int fallback) => opts.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
var log = opts["log"];
var stepMs = Int("step-ms", 0);
var hangActivity = Int("hang-activity", -1);
var hangTurn = Int("hang-turn", -1);
var leaseMs = Int("lease-ms", 0);
var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
var logLock = new object();

void Append(string line)
{
    // Several worker processes append to one log: a lock file opened with FileShare.None (flock on Linux) serializes
    // the writers, so no line is lost to two writers at the same end-of-file offset.
    var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
    lock (logLock)
    {
        for (var attempt = 0; ; attempt++)
        {
            FileStream? guard;
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
    File.WriteAllText(log + ".hung", pid);
    Thread.Sleep(Timeout.Infinite);
}

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
builder.Services.AddDurableTaskHosting(o =>
{
    o.HostJsonPath = opts["host-json"];
    o.ReadAppSetting = name => settings.TryGetValue(name, out var v) ? v : Environment.GetEnvironmentVariable(name);
    o.HomeDirectory = Path.GetDirectoryName(Path.GetFullPath(log))!;
}).AddTasks(r => r
    .AddActivityFunc<int, int>("Step", (ctx, index) =>
    {
        Append($"start {ctx.InstanceId} {index} {pid}");
        if (index == hangActivity) Hang();
        if (stepMs > 0) Thread.Sleep(stepMs);
        Append($"done {ctx.InstanceId} {index} {pid}");
        return index;
    })
    .AddOrchestratorFunc<int, int>("CrashSequence", async (ctx, steps) =>
    {
        var sum = 0;
        for (var i = 0; i < steps; i++)
        {
            // A live (not replayed) turn that schedules step i: tells the test which process ran the orchestration.
            if (!ctx.IsReplaying) Append($"turn {ctx.InstanceId} {i} {pid}");
            sum += await ctx.CallActivityAsync<int>("Step", i);
            if (i == hangTurn && !ctx.IsReplaying) Hang();
        }
        return sum;
    }));
if (leaseMs > 0)
{
    builder.Services.Configure<AzureStorageProviderOptions>(o => o.Configure = s =>
    {
        s.LeaseInterval = TimeSpan.FromMilliseconds(leaseMs);
        s.LeaseRenewInterval = TimeSpan.FromMilliseconds(leaseMs / 4.0);
        s.LeaseAcquireInterval = TimeSpan.FromMilliseconds(leaseMs / 4.0);
    });
}
using var host = builder.Build();
await host.StartAsync();
File.WriteAllText(log + ".ready." + pid, "");
await host.WaitForShutdownAsync();

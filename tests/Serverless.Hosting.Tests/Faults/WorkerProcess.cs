using System.Diagnostics;

namespace Serverless.Hosting.Tests.Faults;

/// <summary>Starts tests/Serverless.Hosting.TestHost worker processes and reads their side-effect log.</summary>
internal static class WorkerProcess
{
    public static string HostDll()
    {
        var config = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var root = Serverless.Testing.Azurite.AzuriteProcess.FindRepositoryRoot();
        var dll = Path.Combine(root, "tests", "Serverless.Hosting.TestHost", "bin", config, "net10.0", "Serverless.Hosting.TestHost.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("The kill-test worker was not built: " + dll);
    }

    /// <summary>Starts a worker and waits until its runtime has started (it writes LOG.ready.PID).</summary>
    public static async Task<Process> StartAsync(string log, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(HostDll());
        foreach (var a in new[] { "--log", log }.Concat(args)) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var output = new System.Text.StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        try
        {
            await WaitForFileAsync(log + ".ready." + p.Id, p);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            lock (output) throw new InvalidOperationException(e.Message + "\n" + output, e);
        }
        return p;
    }

    public static async Task WaitForFileAsync(string path, Process? process = null, int seconds = 90)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!File.Exists(path))
        {
            if (process is { HasExited: true }) throw new InvalidOperationException($"worker exited with code {process.ExitCode} before {Path.GetFileName(path)}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException("timed out waiting for " + path);
            await Task.Delay(20);
        }
    }

    /// <summary>SIGKILL: no finally blocks, no graceful shutdown, no lease release.</summary>
    public static void KillHard(Process p)
    {
        p.Kill(entireProcessTree: true);
        p.WaitForExit();
    }

    /// <summary>Log lines split into words: kind, instance, step, pid.</summary>
    public static string[][] Lines(string log) => File.Exists(log)
        ? File.ReadAllLines(log).Where(l => l.Length > 0).Select(l => l.Split(' ')).ToArray()
        : [];
}

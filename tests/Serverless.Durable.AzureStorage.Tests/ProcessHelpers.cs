using System.Diagnostics;

namespace Serverless.Durable.AzureStorage.Tests;

/// <summary>Starts tests/Serverless.Durable.TestHost worker processes on the Azure Storage backend and reads their side-effect log.</summary>
internal static class ProcessHelpers
{
    public static string HostDll()
    {
        var config = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var root = Serverless.Testing.Azurite.AzuriteProcess.FindRepositoryRoot();
        var dll = Path.Combine(root, "tests", "Serverless.Durable.TestHost", "bin", config, "net10.0", "Serverless.Durable.TestHost.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("The crash-test worker was not built: " + dll);
    }

    public static async Task<Process> StartWorkerAsync(string log, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(HostDll());
        foreach (var a in new[] { "--log", log }.Concat(args)) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        await WaitForFileAsync(log + ".ready." + p.Id, p);
        return p;
    }

    public static async Task WaitForFileAsync(string path, Process? process = null, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!File.Exists(path))
        {
            if (process is { HasExited: true }) throw new InvalidOperationException($"worker exited with code {process.ExitCode} before {Path.GetFileName(path)}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException("timed out waiting for " + path);
            await Task.Delay(20);
        }
    }

    public static void KillHard(Process p)
    {
        p.Kill(entireProcessTree: true); // SIGKILL on Linux: no finally blocks, no lease release
        p.WaitForExit();
    }

    public static string[] Lines(string log) => File.Exists(log)
        ? File.ReadAllLines(log).Where(l => l.Length > 0).ToArray()
        : [];
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Serverless.Hosting.Azurite;

/// <summary>
/// Starts Azurite (the Azure Storage emulator) for <c>UseDevelopmentStorage=true</c> when nothing listens on its
/// well-known ports (127.0.0.1:10000-10002), so a fresh clone runs on Azure Storage without set-up. Data lives in a
/// folder the caller names (the app's home), so a second run sees the first run's instances. Disposing stops only an
/// Azurite this launcher started; one that was already running is left alone.
/// </summary>
public sealed class AzuriteLauncher : IAsyncDisposable
{
    /// <summary>Azurite's default blob, queue and table ports (what <c>UseDevelopmentStorage=true</c> points at).</summary>
    public static readonly IReadOnlyList<int> DefaultPorts = [10000, 10001, 10002];

    private readonly Process? _process;

    private AzuriteLauncher(Process? process, string? dataFolder)
    {
        _process = process;
        DataFolder = dataFolder;
    }

    /// <summary>Whether this launcher started Azurite (false: one was already listening).</summary>
    public bool Started => _process is not null;

    /// <summary>Azurite's data folder when this launcher started it; null otherwise.</summary>
    public string? DataFolder { get; }

    /// <summary>Process id of the started Azurite, or null.</summary>
    public int? ProcessId => _process?.Id;

    /// <summary>The well-known emulator account's key (public, documented by Microsoft; not a secret).</summary>
    public const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>A connection string for the emulator account on 127.0.0.1 with the given blob, queue and table ports.</summary>
    public static string ConnectionString(IReadOnlyList<int> ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        if (ports.Count != 3) throw new ArgumentException("Azurite needs three ports: blob, queue and table.", nameof(ports));
        string Endpoint(int port) => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/devstoreaccount1");
        return $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevelopmentAccountKey};" +
               $"BlobEndpoint={Endpoint(ports[0])};QueueEndpoint={Endpoint(ports[1])};TableEndpoint={Endpoint(ports[2])};";
    }

    /// <summary>Whether a connection string selects the local emulator (<c>UseDevelopmentStorage=true</c>).</summary>
    public static bool IsDevelopmentStorage(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        return connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Any(p => p.Equals("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Makes sure Azurite listens on <paramref name="ports"/> (default <see cref="DefaultPorts"/>): if all three accept
    /// connections, nothing is started; if none does, Azurite is started from the first <c>node_modules/.bin/azurite</c>
    /// found above <paramref name="searchFrom"/> (default: the app's folder and the current directory) or from
    /// <c>azurite</c> on PATH, with its data in <paramref name="dataFolder"/>. Some but not all ports in use is an error:
    /// something else holds them.
    /// </summary>
    /// <param name="dataFolder">Azurite's <c>--location</c>; created if missing.</param>
    /// <param name="ports">Blob, queue and table ports on 127.0.0.1.</param>
    /// <param name="searchFrom">Folders to search upwards for node_modules.</param>
    /// <param name="logger">Where start and stop are logged.</param>
    /// <param name="cancellation">Cancels the wait for the ports.</param>
    public static async Task<AzuriteLauncher> EnsureRunningAsync(string dataFolder, IReadOnlyList<int>? ports = null,
        IReadOnlyList<string>? searchFrom = null, ILogger? logger = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataFolder);
        ports ??= DefaultPorts;
        if (ports.Count != 3) throw new ArgumentException("Azurite needs three ports: blob, queue and table.", nameof(ports));
        logger ??= NullLogger.Instance;
        var listening = new bool[3];
        for (var i = 0; i < 3; i++) listening[i] = await IsListeningAsync(ports[i], cancellation).ConfigureAwait(false);
        if (listening.All(l => l)) return new AzuriteLauncher(null, null);
        if (listening.Any(l => l))
        {
            throw new InvalidOperationException(
                $"Ports {string.Join(", ", ports.Where((_, i) => listening[i]))} on 127.0.0.1 are in use but {string.Join(", ", ports.Where((_, i) => !listening[i]))} are not: " +
                "something other than a complete Azurite holds them. Stop it or start Azurite yourself.");
        }

        var executable = FindExecutable(searchFrom ?? [AppContext.BaseDirectory, Directory.GetCurrentDirectory()])
            ?? throw new InvalidOperationException(
                "UseDevelopmentStorage=true needs Azurite, but nothing listens on 127.0.0.1:10000-10002 and no node_modules/.bin/azurite " +
                "(nor azurite on PATH) was found. Run 'npm ci --ignore-scripts' in the repository (./build.sh does) or start Azurite.");
        Directory.CreateDirectory(dataFolder);
        var psi = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataFolder,
        };
        foreach (var a in new[]
                 {
                     "--blobHost", "127.0.0.1", "--blobPort", ports[0].ToString(CultureInfo.InvariantCulture),
                     "--queueHost", "127.0.0.1", "--queuePort", ports[1].ToString(CultureInfo.InvariantCulture),
                     "--tableHost", "127.0.0.1", "--tablePort", ports[2].ToString(CultureInfo.InvariantCulture),
                     // --disableTelemetry: Azurite 3.37 otherwise reports usage over the internet; this host stays on loopback.
                     "--location", dataFolder, "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry",
                 })
        {
            psi.ArgumentList.Add(a);
        }
        var output = new System.Text.StringBuilder();
        var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var launcher = new AzuriteLauncher(process, dataFolder);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            foreach (var port in ports)
            {
                while (!await IsListeningAsync(port, cancellation).ConfigureAwait(false))
                {
                    if (process.HasExited)
                    {
                        string text;
                        lock (output) text = output.ToString();
                        throw new InvalidOperationException($"Azurite ({executable}) exited with code {process.ExitCode} during start-up: {text}");
                    }
                    if (DateTime.UtcNow > deadline) throw new TimeoutException($"Azurite did not listen on 127.0.0.1:{port} within 60 s.");
                    await Task.Delay(100, cancellation).ConfigureAwait(false);
                }
            }
        }
        catch
        {
            await launcher.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        logger.LogInformation("Started Azurite (pid {Pid}) on 127.0.0.1:{Ports} with data in {Folder}", process.Id, string.Join(",", ports), dataFolder);
        return launcher;
    }

    /// <summary>The azurite launcher script in the nearest node_modules above one of <paramref name="folders"/>, else on PATH.</summary>
    internal static string? FindExecutable(IEnumerable<string> folders)
    {
        foreach (var start in folders)
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "node_modules", ".bin", "azurite");
                if (File.Exists(candidate)) return candidate;
            }
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "azurite");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static async Task<bool> IsListeningAsync(int port, CancellationToken cancellation)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, cancellation).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Stops the Azurite this launcher started: SIGTERM, so it saves its stores (Azurite keeps queue, table and blob
    /// metadata in LokiJS files saved every 5 s and on close; a SIGKILL loses what came after the last save, which for
    /// a task hub means lost queue messages and stuck instances). SIGKILL only if it has not exited after 60 s.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited)
            {
                // npm's launcher script execs node, so the process is Azurite itself; SIGTERM lets it flush its databases.
                using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])) await term.WaitForExitAsync().ConfigureAwait(false);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                try
                {
                    await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync().ConfigureAwait(false);
                }
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        _process.Dispose();
    }
}

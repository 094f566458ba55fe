using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Serverless.Testing.Azurite;

/// <summary>
/// A real Azurite (the Azure Storage emulator, npm package <c>azurite</c> in the repository's node_modules)
/// started on free loopback ports with a fresh temporary data folder. Dispose stops it and deletes the folder.
/// </summary>
/// <remarks>
/// Azurite runs under a tiny <c>sh</c> watchdog that kills it when our end of its standard input closes, so
/// a test host that dies (even by SIGKILL) does not leave an emulator behind. Telemetry is disabled: Azurite
/// 3.37 otherwise sends usage data to the internet, and tests may only talk to loopback.
/// </remarks>
public sealed class AzuriteProcess : IAsyncDisposable
{
    /// <summary>The well-known emulator account.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>The well-known emulator key (public, documented by Microsoft; not a secret).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process _process;
    private readonly StringBuilder _output;

    private AzuriteProcess(Process process, StringBuilder output, string dataFolder, int blobPort, int queuePort, int tablePort, X509Certificate2? certificate)
    {
        Certificate = certificate;
        _process = process;
        _output = output;
        DataFolder = dataFolder;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
    }

    /// <summary>The temporary folder Azurite stores its data in (deleted on dispose).</summary>
    public string DataFolder { get; }

    /// <summary>Blob service port on 127.0.0.1.</summary>
    public int BlobPort { get; }

    /// <summary>Queue service port on 127.0.0.1.</summary>
    public int QueuePort { get; }

    /// <summary>Table service port on 127.0.0.1.</summary>
    public int TablePort { get; }

    /// <summary>The self-signed certificate Azurite serves when started with <c>https: true</c> (trust it by thumbprint).</summary>
    public X509Certificate2? Certificate { get; }

    private string Scheme => Certificate == null ? "http" : "https";

    /// <summary>Path-style blob endpoint, e.g. <c>http://127.0.0.1:PORT/devstoreaccount1</c>.</summary>
    public Uri BlobEndpoint => new($"{Scheme}://127.0.0.1:{BlobPort}/{AccountName}");

    /// <summary>Path-style queue endpoint.</summary>
    public Uri QueueEndpoint => new($"{Scheme}://127.0.0.1:{QueuePort}/{AccountName}");

    /// <summary>Path-style table endpoint.</summary>
    public Uri TableEndpoint => new($"{Scheme}://127.0.0.1:{TablePort}/{AccountName}");

    /// <summary>A full connection string (account, key and the three endpoints).</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol={Scheme};AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint={BlobEndpoint};QueueEndpoint={QueueEndpoint};TableEndpoint={TableEndpoint};";

    /// <summary>Process id of the Azurite node process's watchdog shell (for diagnostics).</summary>
    public int ProcessId => _process.Id;

    /// <summary>What Azurite printed so far (startup errors end up here).</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Finds the repository root by walking up from <paramref name="start"/> to the folder holding Serverless.sln.</summary>
    public static string FindRepositoryRoot(string? start = null)
    {
        var dir = new DirectoryInfo(start ?? AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException(
            $"Serverless.sln not found above {start ?? AppContext.BaseDirectory}; cannot locate node_modules/.bin/azurite.");
    }

    /// <summary>Starts Azurite and waits until its three ports accept connections.</summary>
    /// <param name="inMemory">Use <c>--inMemoryPersistence</c> (faster; never for multi-GB data).</param>
    /// <param name="https">Serve https with a fresh self-signed certificate for 127.0.0.1 and accept Entra ID bearer
    /// tokens (<c>--oauth basic</c>: Azurite checks issuer, audience and lifetime, not the signature).</param>
    /// <param name="cancellation">Cancels the wait.</param>
    public static async Task<AzuriteProcess> StartAsync(bool inMemory = false, bool https = false, CancellationToken cancellation = default)
    {
        var root = FindRepositoryRoot();
        var script = Path.Combine(root, "node_modules", ".bin", "azurite");
        if (!File.Exists(script))
            throw new InvalidOperationException($"{script} is missing: run 'npm ci --ignore-scripts' in {root} (./build.sh does).");

        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            // A free port can be taken between probing and Azurite's bind; then Azurite exits and we retry.
            var ports = FreePorts(3);
            var folder = Path.Combine(Path.GetTempPath(), "azurite-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            var certificate = https ? WriteSelfSignedCertificate(folder) : null;
            var process = StartProcess(root, script, folder, ports, inMemory, https, out var output);
            var azurite = new AzuriteProcess(process, output, folder, ports[0], ports[1], ports[2], certificate);
            try
            {
                await azurite.WaitUntilListeningAsync(TimeSpan.FromSeconds(60), cancellation);
                return azurite;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                last = e;
                await azurite.DisposeAsync();
            }
        }
        throw new InvalidOperationException("Azurite did not start after 3 attempts.", last);
    }

    private static X509Certificate2 WriteSelfSignedCertificate(string folder)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(folder, "cert.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, "key.pem"), rsa.ExportPkcs8PrivateKeyPem());
        return certificate;
    }

    private static Process StartProcess(string root, string script, string folder, int[] ports, bool inMemory, bool https, out StringBuilder output)
    {
        var psi = new ProcessStartInfo("/bin/sh")
        {
            WorkingDirectory = root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // fd 3 keeps our stdin pipe for the watchdog: a background job's own stdin is /dev/null in sh.
        // When the pipe closes (this process exited, even by SIGKILL) the watchdog kills Azurite and removes its data.
        psi.Environment["AZURITE_WATCHDOG_DIR"] = folder;
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec 3<&0; \"$0\" \"$@\" </dev/null & c=$!; " +
                             "(read -r _ <&3; kill $c 2>/dev/null; sleep 1; rm -rf \"$AZURITE_WATCHDOG_DIR\") & wait $c");
        psi.ArgumentList.Add(script);
        foreach (var a in new[]
                 {
                     "--blobHost", "127.0.0.1", "--blobPort", ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--queueHost", "127.0.0.1", "--queuePort", ports[1].ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--tableHost", "127.0.0.1", "--tablePort", ports[2].ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry",
                 })
        {
            psi.ArgumentList.Add(a);
        }
        // Azurite 3.37 refuses --inMemoryPersistence together with --location.
        psi.ArgumentList.Add(inMemory ? "--inMemoryPersistence" : "--location");
        if (!inMemory) psi.ArgumentList.Add(folder);
        if (https)
        {
            foreach (var a in new[] { "--cert", Path.Combine(folder, "cert.pem"), "--key", Path.Combine(folder, "key.pem"), "--oauth", "basic" })
                psi.ArgumentList.Add(a);
        }

        var sb = new StringBuilder();
        var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (sb) sb.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (sb) sb.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        output = sb;
        return process;
    }

    private async Task WaitUntilListeningAsync(TimeSpan timeout, CancellationToken cancellation)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var port in new[] { BlobPort, QueuePort, TablePort })
        {
            while (true)
            {
                cancellation.ThrowIfCancellationRequested();
                if (_process.HasExited)
                    throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode} during start-up: {Output}");
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, port, cancellation);
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100, cancellation);
                }
            }
        }
    }

    private static int[] FreePorts(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var l = new TcpListener(IPAddress.Loopback, 0);
                l.Start();
                listeners.Add(l);
            }
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var l in listeners) l.Stop();
        }
    }

    /// <summary>Current resident set size of the Azurite node process tree in MB (0 if unknown); for reports.</summary>
    public double ResidentMegabytes()
    {
        double total = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                var status = File.ReadAllLines(Path.Combine(dir, "status"));
                var ppid = status.FirstOrDefault(l => l.StartsWith("PPid:", StringComparison.Ordinal));
                if (ppid == null || ppid[5..].Trim() != _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)) continue;
                var rss = status.FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                if (rss != null) total += double.Parse(rss[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return total;
    }

    /// <summary>Kills the Azurite process tree and deletes the data folder.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        catch (TimeoutException)
        {
        }
        _process.Dispose();
        Certificate?.Dispose();
        for (var i = 0; i < 5; i++)
        {
            try
            {
                if (Directory.Exists(DataFolder)) Directory.Delete(DataFolder, recursive: true);
                break;
            }
            catch (IOException) when (i < 4)
            {
                await Task.Delay(200);
            }
        }
    }
}

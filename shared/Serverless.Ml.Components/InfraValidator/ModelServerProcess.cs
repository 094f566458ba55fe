using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Serverless.Ml.Components.InfraValidator;

/// <summary>
/// The model server as a child process on a free loopback port (TFX's InfraValidator starts TF Serving the same way):
/// started over a repository folder, its output kept for error messages, killed with its process tree on dispose.
/// </summary>
public sealed class ModelServerProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();

    private ModelServerProcess(Process process, Uri baseAddress)
    {
        this.process = process;
        BaseAddress = baseAddress;
    }

    /// <summary>The server's address, <c>http://127.0.0.1:{port}/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => process.HasExited;

    /// <summary>The last lines the server wrote (stdout and stderr), for error messages.</summary>
    public string OutputTail
    {
        get
        {
            lock (output)
            {
                var text = output.ToString();
                return text.Length > 2000 ? text[^2000..] : text;
            }
        }
    }

    /// <summary>Starts <paramref name="serverPath"/> (a .dll runs under <c>dotnet</c>) over <paramref name="repository"/>.</summary>
    /// <exception cref="FileNotFoundException">The server file does not exist.</exception>
    public static ModelServerProcess Start(string serverPath, string repository, IEnumerable<string>? extraArguments = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(serverPath);
        ArgumentException.ThrowIfNullOrEmpty(repository);
        if (!File.Exists(serverPath))
        {
            throw new FileNotFoundException($"model server '{serverPath}' does not exist (the host sets ShippingOptions.ModelServerPath or $SERVERLESS_MODEL_SERVER; by default Serverless.ModelServer.dll next to the app)", serverPath);
        }

        var port = FreeLoopbackPort();
        var dll = serverPath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var start = new ProcessStartInfo(dll ? DotnetHost() : serverPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(serverPath))!,
        };
        if (dll)
        {
            start.ArgumentList.Add(serverPath);
        }

        foreach (var a in new[] { "--repository", repository, "--urls", $"http://127.0.0.1:{port}", "--poll-seconds", "0.2" }.Concat(extraArguments ?? []))
        {
            start.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var server = new ModelServerProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or not stoppable: nothing more to do for a validation process.
        }
        finally
        {
            process.Dispose();
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
            if (output.Length > 16_000)
            {
                output.Remove(0, output.Length - 8_000);
            }
        }
    }
}

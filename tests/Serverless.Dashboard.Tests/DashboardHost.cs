using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Playwright;

namespace Serverless.Dashboard.Tests;

/// <summary>
/// The function app as a real process (the built executable, as an operator starts it) on a free loopback port, with its own
/// home folder, host.json and access key, plus a headless Debian chromium driven by Playwright. One per test class.
/// </summary>
public sealed class DashboardHost : IAsyncLifetime
{
    /// <summary>The access key the host is started with.</summary>
    public const string Key = "dashboard-test-key-0123456789abcdef";

    /// <summary>Debian's chromium: Playwright's own browser download is not reachable here.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private readonly StringBuilder output = new();
    private Process? process;

    /// <summary>The host's home folder (pipelines, data, stores).</summary>
    public string Home { get; } = Path.Combine(Path.GetTempPath(), "dashboard-tests-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>The host's base address.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>A client that sends the key.</summary>
    public HttpClient Http { get; private set; } = null!;

    /// <summary>The Playwright driver.</summary>
    public IPlaywright Playwright { get; private set; } = null!;

    /// <summary>The browser.</summary>
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where screenshots go: the test output folder.</summary>
    public static string ScreenshotFolder => Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;

    /// <summary>What the host printed, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        var pipelines = Directory.CreateDirectory(Path.Combine(Home, "pipelines")).FullName;
        Directory.CreateDirectory(Path.Combine(pipelines, "data"));
        File.Copy(Path.Combine(AppContext.BaseDirectory, "samples", "data", "penguins.csv"), Path.Combine(pipelines, "data", "penguins.csv"));
        // The whole TFX sample with a human approval before the push (the run waits on the page's Approve button) and an
        // ExampleValidator (its anomalies report).
        var full = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "samples", "penguins_full.yaml"));
        var gated = full.Replace("name: penguins_full", "name: penguins_gated", StringComparison.Ordinal)
            .Replace("    # approval:\n    #   event: approve-push\n    #   timeout: 24h", "    approval:\n      event: approve-push\n      timeout: 1h", StringComparison.Ordinal);
        Assert.Contains("      event: approve-push", gated, StringComparison.Ordinal);
        gated = gated.TrimEnd() + "\n  - id: example_validator\n    component: ExampleValidator\n    inputs: { statistics: statistics_gen.statistics, schema: schema_gen.schema }\n";
        await File.WriteAllTextAsync(Path.Combine(pipelines, "penguins_gated.yaml"), gated);
        // A run that fails: a CSV row with a missing field fails ExampleGen (retried once), so StatisticsGen is skipped.
        Directory.CreateDirectory(Path.Combine(pipelines, "bad"));
        await File.WriteAllTextAsync(Path.Combine(pipelines, "bad", "bad.csv"), "x,y\n1,2\n3\n");
        await File.WriteAllTextAsync(Path.Combine(pipelines, "penguins_bad.yaml"), """
            name: penguins_bad
            nodes:
              - id: example_gen
                component: CsvExampleGen
                parameters: { input_base: bad, input_pattern: bad.csv }
                retry: { max_attempts: 2, first_retry_interval: 1s }
              - id: statistics_gen
                component: StatisticsGen
                inputs: { examples: example_gen.examples }
            """);
        var hostJson = Path.Combine(Home, "host.json");
        await File.WriteAllTextAsync(hostJson, """
            { "version": "2.0", "extensions": { "durableTask": { "hubName": "DashboardTests" },
              "pipelines": { "blobTrigger": { "enabled": false } } } }
            """);

        var port = FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Home };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Serverless.FunctionApp.dll"));
        foreach (var arg in new[] { "--urls", BaseAddress.ToString().TrimEnd('/'), "--home", Home, "--host-json", hostJson, "--access-key", Key })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment.Remove("SERVERLESS_ACCESS_KEY");
        process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Http.DefaultRequestHeaders.Add("x-functions-key", Key);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the function app exited with {process.ExitCode}:\n{Output}");
            }

            try
            {
                if ((await Http.GetAsync("api/health")).StatusCode == HttpStatusCode.OK)
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the function app did not answer on {BaseAddress} within 90 s:\n{Output}");
            }

            await Task.Delay(200);
        }

        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Root in a container: chromium's sandbox needs user namespaces it may not have.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        });
    }

    /// <summary>A new page (own context: own session storage) at <paramref name="width"/> x <paramref name="height"/>.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height }, BaseURL = BaseAddress.ToString() });
        context.SetDefaultTimeout(60_000);
        return await context.NewPageAsync();
    }

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        Playwright?.Dispose();
        Http?.Dispose();
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process?.Dispose();
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
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
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

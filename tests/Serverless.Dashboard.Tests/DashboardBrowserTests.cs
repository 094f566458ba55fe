using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Serverless.Dashboard.Tests;

/// <summary>
/// The dashboard in a real browser against the real function app process: a gated run of the sample TFX pipeline is
/// started, followed, approved and inspected from the page alone.
/// </summary>
public sealed class DashboardBrowserTests(DashboardHost host) : IClassFixture<DashboardHost>
{
    private static readonly LocatorAssertionsToHaveAttributeOptions Slow = new() { Timeout = 150_000 };

    [Fact]
    public async Task GatedSampleRun_StartedApprovedAndInspectedFromThePage_GraphLineageReportsAndModelShown()
    {
        var page = await host.NewPageAsync();
        try
        {
            // Start: the form, with a parameter override.
            await page.GotoAsync($"/?code={DashboardHost.Key}#/start");
            Assert.DoesNotContain("code=", page.Url, StringComparison.Ordinal); // the key left the address bar
            await page.SelectOptionAsync("#start-pipeline", "penguins_gated");
            await page.FillAsync("#start-parameters", "trainer.epochs=30");
            await page.FillAsync("#start-run-id", "gated-1");
            await page.GetByRole(AriaRole.Button, new() { Name = "Start run" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new Regex("#/runs/gated-1$"));

            // The run waits at the gate before the push; every node up to it is done.
            await Expect(page.Locator("svg g[data-node='pusher']")).ToHaveAttributeAsync("data-state", "WaitingForApproval", Slow);
            await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ScreenshotFolder, "run-waiting-for-approval.png"), FullPage = true });
            Assert.Equal("30", await RunParameterAsync("gated-1", "trainer.epochs"));

            // Approve from the page.
            await page.FillAsync("#approval-comment", "dashboard test");
            await page.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
            await Expect(page.Locator("dl.summary [data-state]").First).ToHaveAttributeAsync("data-state", "Succeeded", Slow);

            // The graph shows every node of the run with its final state, and every edge of the definition.
            var run = (await host.Http.GetFromJsonAsync<JsonObject>("api/runs/gated-1"))!;
            var expected = run["run"]!["Nodes"]!.AsArray().ToDictionary(n => n!["Node"]!.GetValue<string>(), n => n!["State"]!.GetValue<string>());
            Assert.Equal(9, expected.Count);
            // Cached when another test's run of the same pipeline executed the same nodes first.
            Assert.All(expected.Values, s => Assert.Contains(s, new[] { "Complete", "Cached" }));
            Assert.Equal("Complete", expected["pusher"]);
            var drawn = page.Locator("svg g[data-node]");
            Assert.Equal(expected.Count, await drawn.CountAsync());
            foreach (var (node, state) in expected)
            {
                await Expect(page.Locator($"svg g[data-node='{node}']")).ToHaveAttributeAsync("data-state", state);
            }

            foreach (var edge in new[] { "example_gen>statistics_gen", "statistics_gen>schema_gen", "trainer>evaluator", "evaluator>pusher", "infra_validator>pusher" })
            {
                Assert.Equal(1, await page.Locator($"svg path[data-edge='{edge}']").CountAsync());
            }

            await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ScreenshotFolder, "run-complete.png") });
            Assert.True(await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0, "the run page is wider than 1280 px");

            // Keyboard: a graph node is selected with Enter; focus moves to its details.
            await page.Locator("svg g[data-node='statistics_gen']").FocusAsync();
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator("#node-detail-title")).ToBeFocusedAsync();
            await Expect(page.Locator("#node-detail [data-node-state]")).ToHaveAttributeAsync("data-node-state", expected["statistics_gen"]);

            // Follow its output artifact to the artifact page: lineage up to the source file and down to the pushed model.
            await page.Locator("#node-detail a[data-artifact]", new() { HasText = "statistics_gen.statistics" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new Regex("#/artifacts/[0-9]+$"));
            var lineage = page.Locator("svg g[data-lineage]");
            await Expect(lineage.First).ToBeVisibleAsync();
            var source = page.Locator("svg g[data-kind='artifact'][aria-label*='ExternalFile']").First;
            await Expect(source).ToBeVisibleAsync();
            await Expect(page.Locator("svg g[data-kind='artifact'][aria-label*='PushedModel']")).ToHaveCountAsync(1);
            await Expect(page.Locator("svg g[data-kind='execution'][aria-label*='pusher']")).ToHaveCountAsync(1);

            // The statistics report is embedded (sandboxed) and shows the data's features.
            await Expect(page.FrameLocator("iframe[data-report='report.html']").Locator("body")).ToContainTextAsync("bill_length_mm");
            await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ScreenshotFolder, "artifact-lineage.png") });
            await page.Locator("iframe[data-report='report.html']").ScrollIntoViewIfNeededAsync();
            await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ScreenshotFolder, "artifact-report.png") });

            // One step up the lineage by keyboard: the source file's artifact page.
            await source.FocusAsync();
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator("h2")).ToContainTextAsync("ExternalFile");

            // Models: version 1 serves, blessed, made by this run; its evaluation report is embedded on its page.
            await page.GotoAsync("/#/models");
            var model = page.Locator("section[data-model='penguins']");
            await Expect(model).ToContainTextAsync("serving");
            await Expect(model).ToContainTextAsync("blessed");
            await Expect(model.Locator("a[data-run='gated-1']")).ToHaveCountAsync(1);
            await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ScreenshotFolder, "models.png"), FullPage = true });
            await model.GetByRole(AriaRole.Link, new() { Name = "metrics and slices" }).ClickAsync();
            await Expect(page.FrameLocator("iframe[data-report='report.html']").Locator("body")).ToContainTextAsync("accuracy");

            // The trainer's model_run: its training curves (SVG) are shown as an image that loaded.
            var modelRun = run["run"]!["Nodes"]!.AsArray().Single(n => n!["Node"]!.GetValue<string>() == "trainer")!["ArtifactIds"]!["model_run"]!.GetValue<long>();
            await page.GotoAsync($"/#/artifacts/{modelRun}");
            var curves = page.Locator("img[data-report='curves.svg']");
            await Expect(curves).ToBeVisibleAsync();
            await page.WaitForFunctionAsync("() => { const i = document.querySelector(\"img[data-report='curves.svg']\"); return i && i.complete && i.naturalWidth > 0; }");

            // Schema and anomalies read as tables.
            long Output(string node, string channel) => run["run"]!["Nodes"]!.AsArray().Single(n => n!["Node"]!.GetValue<string>() == node)!["ArtifactIds"]![channel]!.GetValue<long>();
            await page.GotoAsync($"/#/artifacts/{Output("schema_gen", "schema")}");
            await Expect(page.Locator("table.schema")).ToContainTextAsync("bill_length_mm");
            await Expect(page.Locator("table.schema")).ToContainTextAsync("Adelie");
            await page.GotoAsync($"/#/artifacts/{Output("example_validator", "anomalies")}");
            await Expect(page.Locator("[data-anomalies='0']")).ToHaveCountAsync(2); // train and eval

            // The run list shows the run, finished.
            await page.GotoAsync("/#/runs");
            await Expect(page.Locator("tr", new() { Has = page.Locator("a[data-run='gated-1']") }).Locator("[data-state]")).ToHaveAttributeAsync("data-state", "Succeeded");
            await page.SelectOptionAsync("#f-state", "Failed");
            await Expect(page).ToHaveURLAsync(new Regex("#/runs\\?state=Failed$"));
            await Expect(page.Locator("a[data-run='gated-1']")).ToHaveCountAsync(0);
            await page.SelectOptionAsync("#f-pipeline", "penguins_gated");
            await page.SelectOptionAsync("#f-state", "Succeeded");
            await Expect(page.Locator("a[data-run='gated-1']")).ToHaveCountAsync(1);
            Assert.True(await page.EvaluateAsync<bool>("() => [...document.querySelectorAll('table.runs tbody tr [data-state]')].every(e => e.dataset.state === 'Succeeded')"));

            // A phone-sized window: the run page fits (the graph turns vertical and scrolls inside its frame).
            await page.SetViewportSizeAsync(390, 844);
            await page.GotoAsync("/#/runs/gated-1");
            await Expect(page.Locator("svg[data-orientation='vertical'] g[data-node='pusher']")).ToHaveAttributeAsync("data-state", "Complete");
            Assert.True(await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0, "the run page is wider than 390 px");
            await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ScreenshotFolder, "narrow-run.png"), FullPage = true });
        }
        catch (Exception e) when (e is PlaywrightException or Xunit.Sdk.XunitException or TimeoutException)
        {
            await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ScreenshotFolder, "failure-gated-run.png"), FullPage = true });
            throw new InvalidOperationException($"{e.Message}\n--- host output ---\n{Tail(host.Output)}", e);
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task FailedRun_NodeFailsAfterRetry_ErrorRetriesStackAndSkippedDownstreamShown()
    {
        var started = await host.Http.PostAsJsonAsync("api/pipelines/penguins_bad/runs", new { runId = "bad-1" });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var page = await host.NewPageAsync();
        try
        {
            await page.GotoAsync($"/?code={DashboardHost.Key}#/runs/bad-1");
            await Expect(page.Locator("svg g[data-node='example_gen']")).ToHaveAttributeAsync("data-state", "Failed", Slow);
            await Expect(page.Locator("svg g[data-node='statistics_gen']")).ToHaveAttributeAsync("data-state", "Skipped");
            await Expect(page.Locator("dl.summary [data-state]").First).ToHaveAttributeAsync("data-state", "Failed");

            // Space on the focused node opens its details: the error, one retry, the last attempt's stack.
            await page.Locator("svg g[data-node='example_gen']").FocusAsync();
            await page.Keyboard.PressAsync(" ");
            var detail = page.Locator("#node-detail");
            await Expect(detail.Locator("[data-node-state]")).ToContainTextAsync("Failed");
            await Expect(detail.Locator("p.alert")).ToContainTextAsync("line 3");
            await Expect(detail.Locator("[data-retries]")).ToHaveTextAsync("1");
            await Expect(detail.Locator("details summary")).ToContainTextAsync("Stack trace");
            await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ScreenshotFolder, "run-failed.png"), FullPage = true });
        }
        catch (Exception e) when (e is PlaywrightException or Xunit.Sdk.XunitException or TimeoutException)
        {
            await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ScreenshotFolder, "failure-failed-run.png"), FullPage = true });
            throw new InvalidOperationException($"{e.Message}\n--- host output ---\n{Tail(host.Output)}", e);
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task RunningRun_CancelFromThePage_RunShownCanceledAndGateGone()
    {
        var started = await host.Http.PostAsJsonAsync("api/pipelines/penguins_gated/runs", new { runId = "cancel-1" });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var page = await host.NewPageAsync();
        try
        {
            await page.GotoAsync($"/?code={DashboardHost.Key}#/runs/cancel-1");
            await page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" }).ClickAsync();
            await Expect(page.Locator("dl.summary [data-state]").First).ToHaveAttributeAsync("data-state", "Canceled", Slow);
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" })).ToHaveCountAsync(0);
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Approve" })).ToHaveCountAsync(0);
            var run = (await host.Http.GetFromJsonAsync<JsonObject>("api/runs/cancel-1"))!;
            Assert.Equal("Terminated", run["runtimeStatus"]!.GetValue<string>());
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task GatedRun_RejectFromThePage_RunRejectedAndPusherNotRun()
    {
        var started = await host.Http.PostAsJsonAsync("api/pipelines/penguins_gated/runs", new { runId = "reject-1" });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var page = await host.NewPageAsync();
        try
        {
            await page.GotoAsync($"/?code={DashboardHost.Key}#/runs/reject-1");
            await Expect(page.Locator("svg g[data-node='pusher']")).ToHaveAttributeAsync("data-state", "WaitingForApproval", Slow);
            await page.FillAsync("#approval-comment", "not this one");
            await page.GetByRole(AriaRole.Button, new() { Name = "Reject" }).ClickAsync();
            await Expect(page.Locator("dl.summary [data-state]").First).ToHaveAttributeAsync("data-state", "Rejected", Slow);
            await Expect(page.Locator("svg g[data-node='pusher']")).ToHaveAttributeAsync("data-state", "Rejected");
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Approve" })).ToHaveCountAsync(0);
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task Page_NarrowWindowAndKeyboardOnly_KeyFormNavigationAndFocusWork()
    {
        var page = await host.NewPageAsync(390, 844);
        try
        {
            // No key yet: the page asks for it; a wrong key is refused by the API and asked again.
            await page.GotoAsync("/");
            await Expect(page.Locator("#key")).ToBeFocusedAsync();
            await page.Keyboard.TypeAsync("not-the-key");
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not accepted");
            await page.Keyboard.TypeAsync(DashboardHost.Key);
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator("h2")).ToHaveTextAsync("Runs");

            // Keyboard: the first Tab reaches the skip link, the next ones the main navigation; focus is visible.
            await page.ReloadAsync();
            await Expect(page.Locator("h2")).ToHaveTextAsync("Runs");
            await page.Keyboard.PressAsync("Tab");
            await Expect(page.Locator("a.skip")).ToBeFocusedAsync();
            Assert.NotEqual("none", await page.EvaluateAsync<string>("() => getComputedStyle(document.activeElement).outlineStyle"));
            for (var i = 0; i < 3; i++)
            {
                await page.Keyboard.PressAsync("Tab");
            }

            await Expect(page.Locator("nav a[data-nav='models']")).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Enter");
            await Expect(page).ToHaveURLAsync(new Regex("#/models$"));
            await Expect(page.Locator("h2")).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Shift+Tab");
            await Expect(page.Locator("#forget-key")).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Shift+Tab");
            await Expect(page.Locator("nav a[data-nav='start']")).ToBeFocusedAsync();

            // Narrow: nothing wider than the window on the runs and start pages.
            foreach (var hash in new[] { "#/runs", "#/start", "#/models" })
            {
                await page.GotoAsync("/" + hash);
                await Expect(page.Locator("main")).Not.ToContainTextAsync("Loading");
                await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
                var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
                Assert.True(overflow <= 0, $"{hash} is {overflow} px wider than a 390 px window");
            }

            await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardHost.ScreenshotFolder, "narrow-models.png"), FullPage = true });

            // Text contrast: the state badges' and body text's colours against their backgrounds (WCAG AA: 4.5:1).
            await page.GotoAsync("/#/runs");
            await page.GotoAsync("/#/start");
            var worst = await page.EvaluateAsync<double>(ContrastScript);
            Assert.True(worst >= 4.5, $"lowest text contrast on the page is {worst:0.00}:1");
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task StartForm_ParameterTheHostRefuses_ShowsItsErrorAndStartsNothing()
    {
        var page = await host.NewPageAsync();
        try
        {
            await page.GotoAsync($"/?code={DashboardHost.Key}#/start?pipeline=penguins_gated");
            await Expect(page.Locator("#start-nodes")).ToContainTextAsync("pusher");
            await page.FillAsync("#start-parameters", "not a pair\ntrainer.epochs=2");
            await page.GetByRole(AriaRole.Button, new() { Name = "Start run" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not NAME=VALUE");

            await page.FillAsync("#start-parameters", "no_such_node.epochs=2");
            await page.FillAsync("#start-run-id", "refused-1");
            await page.GetByRole(AriaRole.Button, new() { Name = "Start run" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("no_such_node");
            Assert.EndsWith("#/start?pipeline=penguins_gated", page.Url, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.NotFound, (await host.Http.GetAsync("api/runs/refused-1")).StatusCode);
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task DashboardApi_WithoutOrWithWrongKey_Returns401AndServesThePageWithoutData()
    {
        using var anonymous = new HttpClient { BaseAddress = host.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("dashboard/api/models")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("dashboard/api/artifacts/1?code=wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("dashboard/api/runs/x/nodes")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync($"dashboard/api/models?code={DashboardHost.Key}")).StatusCode);

        var page = await anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("\"dashboard\":\"/dashboard/api\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain(DashboardHost.Key, html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("dashboard/app.js")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("dashboard/other.js")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Http.GetAsync("dashboard/api/artifacts/999999")).StatusCode);
    }

    // The lowest contrast ratio of visible text against the nearest opaque background (WCAG relative luminance).
    private const string ContrastScript = """
        () => {
          const parse = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(',').map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
          const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
          const bg = el => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0.9) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
          let worst = 21;
          for (const el of document.querySelectorAll('body *')) {
            if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;
            if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
            const style = getComputedStyle(el);
            if (parseFloat(style.opacity) < 1 || el.closest('button:disabled')) continue;
            const fg = parse(style.color), b = bg(el);
            const l1 = lum(fg), l2 = lum(b);
            worst = Math.min(worst, (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05));
          }
          return worst;
        }
        """;

    private async Task<string?> RunParameterAsync(string runId, string name)
    {
        var instance = await host.Http.GetFromJsonAsync<JsonObject>($"runtime/webhooks/durabletask/instances/{runId}?showInput=true");
        return instance?["input"]?["Parameters"]?[name]?.GetValue<string>();
    }

    private static string Tail(string text) => text.Length <= 4000 ? text : text[^4000..];
}

using System.Collections.Concurrent;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Serverless.Hosting.Tests.Conformance;

/// <summary>
/// Every orchestrator and activity of the conformance suite, written against the SDK only (what an isolated Durable
/// Functions app writes), registered once per fixture. Counters are keyed by instance id so tests sharing one worker
/// do not see each other's attempts.
/// </summary>
public static class ConformanceTasks
{
    /// <summary>Category of the replay-safe logger test's logger.</summary>
    public const string LogCategory = "conformance";

    /// <summary>Executions counted per key (instance id + what was counted).</summary>
    public static readonly ConcurrentDictionary<string, int> Counters = new();

    /// <summary>Increments and returns a counter.</summary>
    public static int Bump(string key) => Counters.AddOrUpdate(key, 1, (_, n) => n + 1);

    /// <summary>The current value of a counter (0 if never bumped).</summary>
    public static int Count(string key) => Counters.TryGetValue(key, out var n) ? n : 0;

    private static T Throw<T>(Exception e) => throw e;

    /// <summary>Registers the suite's tasks.</summary>
    public static void Register(DurableTaskRegistry r)
    {
        ArgumentNullException.ThrowIfNull(r);
        r.AddActivityFunc<string, string>("SayHello", (_, name) => $"Hello {name}!")
            .AddOrchestratorFunc<string?, List<string>>("HelloSequence", async (ctx, _) =>
            [
                await ctx.CallActivityAsync<string>("SayHello", "Tokyo"),
                await ctx.CallActivityAsync<string>("SayHello", "Seattle"),
                await ctx.CallActivityAsync<string>("SayHello", "London"),
            ])
            .AddActivityFunc<int, int>("Square", (_, x) => x * x)
            .AddOrchestratorFunc<int, int>("FanOut", async (ctx, n) =>
            {
                var results = await Task.WhenAll(Enumerable.Range(1, n).Select(i => ctx.CallActivityAsync<int>("Square", i)));
                return results.Sum();
            })
            // Returns how much orchestration time passed across a 1.5 s timer.
            .AddOrchestratorFunc<string?, double>("Timer", async (ctx, _) =>
            {
                var start = ctx.CurrentUtcDateTime;
                await ctx.CreateTimer(TimeSpan.FromMilliseconds(1500), CancellationToken.None);
                return (ctx.CurrentUtcDateTime - start).TotalMilliseconds;
            })
            .AddOrchestratorFunc<string?, string>("Approval", async (ctx, _) =>
            {
                ctx.SetCustomStatus("waiting");
                var answer = await ctx.WaitForExternalEvent<string>("Approve");
                return $"approved by {answer}";
            })
            .AddActivityFunc<int, int>("Slow", async (_, x) => { await Task.Delay(300); return x; })
            .AddOrchestratorFunc<string?, string>("Late", async (ctx, _) =>
            {
                await ctx.CallActivityAsync<int>("Slow", 1);
                return await ctx.WaitForExternalEvent<string>("Go");
            })
            .AddOrchestratorFunc<string?, string>("Timeout", async (ctx, _) =>
            {
                try
                {
                    await ctx.WaitForExternalEvent<string>("Never", TimeSpan.FromMilliseconds(150));
                    return "event";
                }
                catch (TaskCanceledException)
                {
                    return "timed out";
                }
            })
            .AddOrchestratorFunc<string?, string>("Race", async (ctx, _) =>
            {
                using var cts = new CancellationTokenSource();
                var timer = ctx.CreateTimer(TimeSpan.FromMinutes(10), cts.Token);
                var evt = ctx.WaitForExternalEvent<int>("Value");
                var winner = await Task.WhenAny(timer, evt);
                if (winner == evt)
                {
                    cts.Cancel();
                    return $"event {evt.Result}";
                }
                return "timer";
            })
            .AddActivityFunc<int, int>("Double", (_, x) => x * 2)
            .AddActivityFunc<int, int>("Boom", (_, _) => Throw<int>(new InvalidOperationException("boom")))
            .AddOrchestratorFunc<int, int>("Child", async (ctx, x) => await ctx.CallActivityAsync<int>("Double", x))
            .AddOrchestratorFunc<int, int>("FailingChild", async (ctx, x) => await ctx.CallActivityAsync<int>("Boom", x))
            .AddOrchestratorFunc<string?, string>("Parent", async (ctx, _) =>
            {
                var a = await ctx.CallSubOrchestratorAsync<int>("Child", 21);
                try
                {
                    await ctx.CallSubOrchestratorAsync<int>("FailingChild", 1, new SubOrchestrationOptions { InstanceId = ctx.InstanceId + "-child" });
                    return "no failure?";
                }
                catch (TaskFailedException ex)
                {
                    return $"{a} {ex.FailureDetails.ErrorMessage.Contains("boom", StringComparison.Ordinal)}";
                }
            })
            .AddActivityFunc<int, int>("Inc", (_, x) => x + 1)
            .AddOrchestratorFunc<int, int>("Counter", async (ctx, n) =>
            {
                var next = await ctx.CallActivityAsync<int>("Inc", n);
                if (next < 5)
                {
                    ctx.ContinueAsNew(next);
                    return -1;
                }
                return next;
            })
            .AddActivityFunc<string, string>("Throw", (_, _) => Throw<string>(new InvalidDataException("bad data in row 7")))
            .AddOrchestratorFunc<string?, string>("Failing", async (ctx, _) => await ctx.CallActivityAsync<string>("Throw", "x"))
            .AddOrchestratorFunc<string?, string>("CallsMissing", async (ctx, _) => await ctx.CallActivityAsync<string>("NoSuchActivity"))
            .AddOrchestratorFunc<int, int>("NeedsInt", (_, x) => Task.FromResult(x))
            // Fails its first N attempts (N = input), counted per instance.
            .AddActivityFunc<int, int>("Flaky", (ctx, failures) =>
            {
                var n = Bump(ctx.InstanceId + "/flaky");
                return n <= failures ? Throw<int>(new TimeoutException($"attempt {n}")) : n;
            })
            .AddOrchestratorFunc<string?, int>("Retrying", async (ctx, _) =>
                await ctx.CallActivityAsync<int>("Flaky", 2, new TaskOptions(new RetryPolicy(3, TimeSpan.FromMilliseconds(20), 2.0))))
            .AddOrchestratorFunc<string?, int>("Exhaust", async (ctx, _) =>
                await ctx.CallActivityAsync<int>("Flaky", 100, new TaskOptions(new RetryPolicy(2, TimeSpan.FromMilliseconds(10)))))
            .AddOrchestratorFunc<string?, int>("Backoff", async (ctx, _) =>
                await ctx.CallActivityAsync<int>("Flaky", 3, new TaskOptions(new RetryPolicy(4, TimeSpan.FromMilliseconds(500), 2.0, TimeSpan.FromMilliseconds(800)))))
            .AddOrchestratorFunc<string?, int>("TimeBoxed", async (ctx, _) =>
                await ctx.CallActivityAsync<int>("Flaky", 100, new TaskOptions(new RetryPolicy(50, TimeSpan.FromMilliseconds(100), retryTimeout: TimeSpan.FromMilliseconds(1500)))))
            .AddOrchestratorFunc<string?, string>("Forever", async (ctx, _) => await ctx.WaitForExternalEvent<string>("Never"))
            .AddOrchestratorFunc<string?, string>("Suspendable", async (ctx, _) => await ctx.WaitForExternalEvent<string>("Go"))
            .AddActivityFunc<string?, string>("A", (_, _) => "a")
            .AddActivityFunc<string?, string>("B", (_, _) => "b")
            .AddOrchestratorFunc<string?, string>("NonDeterministic", async (ctx, _) =>
            {
                // Deliberately non-deterministic: the first execution calls A, every replay calls B.
                var name = Bump(ctx.InstanceId + "/flip") == 1 ? "A" : "B";
                await ctx.CallActivityAsync<string>(name);
                await ctx.CallActivityAsync<string>("A");
                return "done";
            })
            .AddActivityFunc<string, string>("Echo", (_, s) => s)
            .AddOrchestratorFunc<string?, List<string>>("Stable", async (ctx, _) =>
            {
                var g = ctx.NewGuid().ToString();
                var t = ctx.CurrentUtcDateTime.ToString("o", System.Globalization.CultureInfo.InvariantCulture);
                var list = new List<string> { g, t };
                for (var i = 0; i < 3; i++) list.Add(await ctx.CallActivityAsync<string>("Echo", g + t));
                return list;
            })
            .AddActivityFunc<string, int>("Len", (_, s) => s.Length)
            .AddOrchestratorFunc<string, string>("Big", async (ctx, s) => $"{await ctx.CallActivityAsync<int>("Len", s)}:{s}")
            .AddActivityFunc<int, int>("Id", (ctx, x) => { Bump(ctx.InstanceId + "/id"); return x; })
            .AddOrchestratorFunc<string?, int>("Dup", async (ctx, _) =>
            {
                var a = await ctx.CallActivityAsync<int>("Id", 1);
                var b = await ctx.WaitForExternalEvent<int>("Next");
                return a + b;
            })
            .AddOrchestratorFunc<string?, int>("Logging", async (ctx, _) =>
            {
                var log = ctx.CreateReplaySafeLogger(LogCategory);
                var sum = 0;
                for (var i = 0; i < 3; i++)
                {
                    log.LogInformation("step {Step} of {Instance}", i, ctx.InstanceId);
                    sum += await ctx.CallActivityAsync<int>("Id", i);
                }
                return sum;
            })
            .AddOrchestrator<MultiplyOrchestrator>()
            .AddActivity<MultiplyActivity>();
    }

    /// <summary>A class-based activity registered under the name its attribute gives.</summary>
    [DurableTask("Multiply")]
    public sealed class MultiplyActivity : TaskActivity<int[], int>
    {
        /// <inheritdoc/>
        public override Task<int> RunAsync(TaskActivityContext context, int[] input) => Task.FromResult(input[0] * input[1]);
    }

    /// <summary>A class-based orchestrator registered under its class name.</summary>
    public sealed class MultiplyOrchestrator : TaskOrchestrator<int, int>
    {
        /// <inheritdoc/>
        public override async Task<int> RunAsync(TaskOrchestrationContext context, int input) =>
            await context.CallActivityAsync<int>("Multiply", new[] { input, input + 1 });
    }
}

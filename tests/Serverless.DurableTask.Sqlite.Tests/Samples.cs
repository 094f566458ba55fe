using System.Collections.Concurrent;
using DurableTask.Core;
using Microsoft.DurableTask;
using Serverless.DurableTask.Sqlite.Testing;

namespace Serverless.DurableTask.Sqlite.Tests;

/// <summary>
/// The orchestrations and activities the tests run, written against the Microsoft.DurableTask SDK and registered on
/// DTFx through the SDK's shims. Counters are keyed by instance id so that parallel tests do not share them.
/// </summary>
public static class Samples
{
    /// <summary>How many times each instance's orchestrator function was entered from its start (1 + replays).</summary>
    public static ConcurrentDictionary<string, int> Starts { get; } = new();

    /// <summary>How many times each "instance:step" activity ran.</summary>
    public static ConcurrentDictionary<string, int> ActivityRuns { get; } = new();

    private static readonly ConcurrentDictionary<string, int> FlakyAttempts = new();

    public static void Register(TaskHubWorker worker)
    {
        worker.AddTaskOrchestrations(
            SdkShims.Orchestrator<int, int>("Sequence", async (ctx, n) =>
            {
                Starts.AddOrUpdate(ctx.InstanceId, 1, (_, v) => v + 1);
                var x = 0;
                for (var i = 0; i < n; i++) x = await ctx.CallActivityAsync<int>("Add", new Step(ctx.InstanceId, i, x));
                return x;
            }),
            SdkShims.Orchestrator<int, long>("FanOut", async (ctx, n) =>
            {
                var tasks = Enumerable.Range(0, n).Select(i => ctx.CallActivityAsync<long>("Square", i)).ToList();
                return (await Task.WhenAll(tasks)).Sum();
            }),
            SdkShims.Orchestrator<int, string>("Timer", async (ctx, ms) =>
            {
                Starts.AddOrUpdate(ctx.InstanceId, 1, (_, v) => v + 1);
                await ctx.CreateTimer(ctx.CurrentUtcDateTime.AddMilliseconds(ms), CancellationToken.None);
                return "fired at " + ctx.CurrentUtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
            }),
            SdkShims.Orchestrator<string, string>("WaitEvent", async (ctx, _) =>
            {
                Starts.AddOrUpdate(ctx.InstanceId, 1, (_, v) => v + 1);
                ctx.SetCustomStatus("waiting");
                var value = await ctx.WaitForExternalEvent<string>("go");
                return "got " + value;
            }),
            SdkShims.Orchestrator<int, string>("WaitEventTimeout", async (ctx, ms) =>
            {
                try
                {
                    return "got " + await ctx.WaitForExternalEvent<string>("go", TimeSpan.FromMilliseconds(ms));
                }
                catch (TaskCanceledException)
                {
                    return "timed out";
                }
            }),
            SdkShims.Orchestrator<int, int>("Parent", async (ctx, n) =>
            {
                var child = await ctx.CallSubOrchestratorAsync<int>("Sequence", n, new SubOrchestrationOptions { InstanceId = ctx.InstanceId + "-child" });
                return child * 10;
            }),
            SdkShims.Orchestrator<int, int>("Counter", (ctx, i) =>
            {
                if (i < 10)
                {
                    ctx.ContinueAsNew(i + 1);
                    return Task.FromResult(0);
                }
                return Task.FromResult(i);
            }),
            SdkShims.Orchestrator<int, string>("Retry", async (ctx, failures) =>
            {
                var policy = new RetryPolicy(maxNumberOfAttempts: 5, firstRetryInterval: TimeSpan.FromMilliseconds(50));
                return await ctx.CallActivityAsync<string>("Flaky", new Flaky(ctx.InstanceId, failures), TaskOptions.FromRetryPolicy(policy));
            }),
            SdkShims.Orchestrator<string, string>("Echo", async (ctx, s) => await ctx.CallActivityAsync<string>("Echo", s)));
        worker.AddTaskActivities(
            SdkShims.Activity<Step, int>("Add", (_, step) =>
            {
                ActivityRuns.AddOrUpdate($"{step!.Instance}:{step.Index}", 1, (_, v) => v + 1);
                return Task.FromResult(step.Value + 1);
            }),
            SdkShims.Activity<int, long>("Square", (_, i) => Task.FromResult((long)i * i)),
            SdkShims.Activity<Flaky, string>("Flaky", (_, f) =>
            {
                var attempt = FlakyAttempts.AddOrUpdate(f!.Instance, 1, (_, v) => v + 1);
                if (attempt <= f.Failures) throw new InvalidOperationException($"attempt {attempt} fails");
                return Task.FromResult<string?>($"succeeded on attempt {attempt}");
            }),
            SdkShims.Activity<string, string>("Echo", (_, s) => Task.FromResult<string?>(s)));
    }

    /// <summary>One step of <c>Sequence</c>.</summary>
    public sealed record Step(string Instance, int Index, int Value);

    /// <summary>An activity that fails <see cref="Failures"/> times, then succeeds.</summary>
    public sealed record Flaky(string Instance, int Failures);
}

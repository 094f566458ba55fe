using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Serverless.Ml.Components.Tuner;
using Serverless.Pipelines.Tests;
using Serverless.Storage;

namespace Serverless.Ml.Components.Tests.Tuner;

/// <summary>
/// The Tuner's trial batch on the real runtime (SQLite provider): a canceled Tuner terminates its batch, so no further
/// trial starts on any worker and nothing resumes after a restart (issue 18: cancel stops work).
/// </summary>
public sealed class DurableTrialRunnerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("trial-runner-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task RunAsync_Canceled_TerminatesTheBatch()
    {
        // A batch that never ends by itself stands in for long trials: it waits for an event nobody raises.
        await using var host = await DurableTestHost.StartAsync(_folder, _ => { }, r => r
            .AddOrchestratorFunc<TrialBatch, List<TrialResult>>(TunerTrials.OrchestratorName, async (ctx, _) =>
            {
                await ctx.WaitForExternalEvent<bool>("never");
                return [];
            }));
        var runner = new DurableTrialRunner(host.Client);
        var store = new LocalDirectoryBlobStore(Path.Combine(_folder, "blobs"));
        using var cancel = new CancellationTokenSource();

        var run = runner.RunAsync("batch-1", [], parallel: 2, store, cancel.Token);
        using (var started = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await host.Client.WaitForInstanceStartAsync("batch-1", started.Token);
        }
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var batch = await host.Client.WaitForInstanceCompletionAsync("batch-1", cancellation: timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, batch.RuntimeStatus);
    }
}

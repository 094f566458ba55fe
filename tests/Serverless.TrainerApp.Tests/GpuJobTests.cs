using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.DurableTask.Client;
using Serverless.Pipelines.Orchestration;
using Serverless.Testing.Azurite;

namespace Serverless.TrainerApp.Tests;

/// <summary>
/// The GPU job path end to end on Azurite: the orchestrator queues a <c>pool: gpu</c> node and waits for the trainer app's
/// events; the trainer app runs as a real process, is SIGKILLed mid-training and resumes from the checkpoint copy in the
/// artifact store; timeouts resubmit; a worker's error fails the node with that error.
/// </summary>
public sealed class GpuJobTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static string Pipeline(string name, string parameters, string retry = "") => $$"""
        name: {{name}}
        nodes:
          - id: train
            component: JobProbe
            pool: gpu
            parameters: { {{parameters}} }
        {{retry}}
        """;

    [Fact]
    public async Task GpuNode_WaitsForWorker_KilledMidTraining_ResumesFromCheckpointCopy_CompletesOnce()
    {
        await using var jobs = await JobHarness.StartAsync(azurite.ConnectionString, """, "queueLengthRefresh": "1s" """);
        var log = Path.Combine(jobs.Home, "probe.log");
        var gate = Path.Combine(jobs.Home, "gate");
        var runId = await jobs.StartRunAsync("resume", Pipeline("resume", $"steps: 6, pause_at_step: 3, gate: \"{gate}\", log: \"{log}\""), "resume-1");

        // No trainer app runs: the job waits on the queue, and the status says so.
        var waiting = await jobs.WaitForNodeAsync(runId, "train", n => n.State == NodeState.WaitingForGpuWorker, "waiting for a GPU worker");
        Assert.Equal(1, waiting.QueueLength);
        Assert.Contains("waiting for a GPU worker", waiting.Detail, StringComparison.Ordinal);
        Assert.False(File.Exists(log), "nothing may run before a worker leases the job");

        // While it waits, the status follows the queue (re-read every queueLengthRefresh): another job arrives, then goes.
        var jobQueue = new QueueClient(azurite.ConnectionString, jobs.QueueName);
        var other = (await jobQueue.SendMessageAsync("another job")).Value;
        var longer = await jobs.WaitForNodeAsync(runId, "train", n => n.QueueLength == 2, "the queue length re-read as 2");
        Assert.Contains("2 job(s) in the queue", longer.Detail, StringComparison.Ordinal);
        await jobQueue.DeleteMessageAsync(other.MessageId, other.PopReceipt);
        await jobs.WaitForNodeAsync(runId, "train", n => n.QueueLength == 1, "the queue length re-read as 1");

        // A worker starts: the node turns Running and trains to the pause, its checkpoint copied to the artifact store.
        var first = jobs.StartTrainer();
        var running = await jobs.WaitForNodeAsync(runId, "train", n => n.State == NodeState.Running, "running on the trainer app");
        Assert.Contains($"/{first.Id} ", running.Detail, StringComparison.Ordinal);
        await jobs.WaitForFileAsync(log, t => t.Contains("paused 3", StringComparison.Ordinal), "the first worker reaching step 3");
        var copies = Path.Combine(jobs.Home, "blobs", "_checkpoints", "resume", "train");
        await WaitForCheckpointCopyAsync(copies, "3");

        // SIGKILL mid-training; the local checkpoint goes too (as on another machine): only the artifact store's copy is left.
        await JobHarness.KillAsync(first);
        Directory.Delete(Path.Combine(jobs.Home, "scratch", "checkpoints", "resume", "train"), recursive: true);
        await File.WriteAllTextAsync(gate, "go");
        var second = jobs.StartTrainer();

        var done = await jobs.WaitForRunAsync(runId);
        Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed, $"{done.RuntimeStatus}: {done.SerializedOutput}\n{jobs.TrainerOutput}");
        var status = done.ReadOutputAs<PipelineRunStatus>()!;
        var node = status.Nodes.Single();
        Assert.Equal(NodeState.Complete, node.State);
        Assert.Contains($"/{second.Id} ", node.Detail, StringComparison.Ordinal);
        Assert.Contains("delivery 2", node.Detail, StringComparison.Ordinal);

        // Resumed at step 3 from the restored checkpoint, and finished exactly once.
        var lines = await File.ReadAllLinesAsync(log);
        Assert.Equal(["start 0", "step 1", "step 2", "step 3", "paused 3", "start 3", "step 4", "step 5", "step 6", "end"], lines);
        await using (var info = await jobs.Runtime.Blobs.OpenReadAsync(node.Artifacts["model_run"] + "/training.json"))
        {
            var training = await JsonDocument.ParseAsync(info);
            Assert.Equal(3, training.RootElement.GetProperty("resumed_from_step").GetInt32());
            Assert.Equal(second.Id, training.RootElement.GetProperty("worker_pid").GetInt32());
        }

        // Done: the message is deleted and the checkpoint copies are removed.
        var queue = new QueueClient(azurite.ConnectionString, jobs.QueueName);
        Assert.Equal(0, (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Empty(Directory.Exists(copies) ? Directory.GetFiles(copies, "*", SearchOption.AllDirectories) : []);
    }

    [Fact]
    public async Task GpuNode_QueueUnreadableWhileWaiting_StaysWaitingAndSaysSo_ReadsAgainOnceBack()
    {
        await using var jobs = await JobHarness.StartAsync(azurite.ConnectionString, """, "queueLengthRefresh": "1s" """);
        var runId = await jobs.StartRunAsync("unreadable", Pipeline("unreadable", "steps: 1"), "unreadable-1");
        await jobs.WaitForNodeAsync(runId, "train", n => n.State == NodeState.WaitingForGpuWorker && n.QueueLength == 1, "waiting for a GPU worker");

        // The queue goes away (a real 404 from Azurite): the refresh fails, the wait goes on and the status says why.
        var jobQueue = new QueueClient(azurite.ConnectionString, jobs.QueueName);
        await jobQueue.DeleteAsync();
        var unread = await jobs.WaitForNodeAsync(runId, "train", n => n.Detail?.Contains("queue length not read", StringComparison.Ordinal) == true, "a failed refresh shown");
        Assert.Equal(NodeState.WaitingForGpuWorker, unread.State);
        Assert.Null(unread.QueueLength);
        Assert.Contains("QueueNotFound", unread.Detail, StringComparison.Ordinal);
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await jobs.Client.GetInstanceAsync(runId))!.RuntimeStatus);

        // Back (empty: the job's message went with it): the next refresh reads it again.
        await jobQueue.CreateAsync();
        var back = await jobs.WaitForNodeAsync(runId, "train", n => n.QueueLength == 0, "the queue length read again");
        Assert.Equal(NodeState.WaitingForGpuWorker, back.State);
        Assert.Contains("0 job(s) in the queue", back.Detail, StringComparison.Ordinal);
        await jobs.Client.TerminateInstanceAsync(runId, "test over");
    }

    [Fact]
    public async Task GpuNode_TrainerStoppedWithSigterm_HandsTheJobBackAtOnce_NextWorkerResumes()
    {
        // A 10-minute lease: only the stopping worker's release can hand the job to the next one within the test's patience.
        await using var jobs = await JobHarness.StartAsync(azurite.ConnectionString, visibilityTimeout: "00:10:00");
        var log = Path.Combine(jobs.Home, "probe.log");
        var gate = Path.Combine(jobs.Home, "gate");
        var runId = await jobs.StartRunAsync("sigterm", Pipeline("sigterm", $"steps: 4, pause_at_step: 2, gate: \"{gate}\", log: \"{log}\""), "sigterm-1");
        var first = jobs.StartTrainer();
        await jobs.WaitForFileAsync(log, t => t.Contains("paused 2", StringComparison.Ordinal), "the first worker reaching step 2");

        using (var term = System.Diagnostics.Process.Start("kill", ["-TERM", first.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        await first.WaitForExitAsync();
        await File.WriteAllTextAsync(gate, "go");
        jobs.StartTrainer();

        var done = await jobs.WaitForRunAsync(runId);
        Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed, $"{done.RuntimeStatus}: {done.SerializedOutput}\n{jobs.TrainerOutput}");
        Assert.Equal(["start 0", "step 1", "step 2", "paused 2", "start 2", "step 3", "step 4", "end"], await File.ReadAllLinesAsync(log));
    }

    [Fact]
    public async Task GpuNode_NoWorkerWithinTimeout_ResubmittedPerAttemptThenFailsNamingTheAttempts()
    {
        await using var jobs = await JobHarness.StartAsync(azurite.ConnectionString, ", \"timeout\": \"00:00:02\"");
        var retry = "    retry: { max_attempts: 2, first_retry_interval: 1s }";
        var runId = await jobs.StartRunAsync("timeout", Pipeline("timeout", "steps: 1", retry), "timeout-1");

        await jobs.WaitForNodeAsync(runId, "train", n => n.Detail?.Contains("attempt 2 of 2", StringComparison.Ordinal) == true, "the second submission");
        var done = await jobs.WaitForRunAsync(runId);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        var node = (await jobs.StatusAsync(runId))!.Nodes.Single();
        Assert.Equal(NodeState.Failed, node.State);
        Assert.Contains("no GPU worker finished training job", node.Error, StringComparison.Ordinal);
        Assert.Contains("2 attempt(s)", node.Error, StringComparison.Ordinal);

        // The first attempt's message was withdrawn when the second was queued: one job is left, attempt 2.
        var queue = new QueueClient(azurite.ConnectionString, jobs.QueueName);
        var left = (await queue.PeekMessagesAsync(32)).Value;
        var message = Assert.Single(left);
        Assert.Equal(2, JsonDocument.Parse(message.Body.ToString()).RootElement.GetProperty("attempt").GetInt32());
    }

    [Fact]
    public async Task GpuNode_WorkerError_FailsNodeWithTheWorkersMessage()
    {
        await using var jobs = await JobHarness.StartAsync(azurite.ConnectionString);
        var runId = await jobs.StartRunAsync("failing", Pipeline("failing", "fail_with: \"CUDA out of memory (probe)\""), "failing-1");
        jobs.StartTrainer();

        var done = await jobs.WaitForRunAsync(runId);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        var node = (await jobs.StatusAsync(runId))!.Nodes.Single();
        Assert.Equal(NodeState.Failed, node.State);
        Assert.Contains("CUDA out of memory (probe)", node.Error, StringComparison.Ordinal);
        Assert.Contains("GPU job of node 'train'", node.Error, StringComparison.Ordinal);
        var queue = new QueueClient(azurite.ConnectionString, jobs.QueueName);
        Assert.Equal(0, (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task GpuNode_FailureEventForAnotherJobOrAttempt_IgnoredAndTheRealJobCompletes()
    {
        await using var jobs = await JobHarness.StartAsync(azurite.ConnectionString);
        var runId = await jobs.StartRunAsync("stale", Pipeline("stale", "steps: 1"), "stale-1");
        await jobs.WaitForNodeAsync(runId, "train", n => n.State == NodeState.WaitingForGpuWorker, "waiting for a GPU worker");

        // The job's callback, as queued: Durable Functions' sendEventPostUri of the run.
        var queue = new QueueClient(azurite.ConnectionString, jobs.QueueName);
        var job = JsonDocument.Parse(Assert.Single((await queue.PeekMessagesAsync(32)).Value).Body.ToString()).RootElement;
        var callback = job.GetProperty("callback").GetString()!;
        Assert.Matches(@"^http://127\.0\.0\.1:\d+/runtime/webhooks/durabletask/instances/stale-1/raiseEvent/\{eventName\}\?taskHub=" + jobs.Hub + "&connection=AzureWebJobsStorage&code=job-test-key$", callback);
        var jobId = job.GetProperty("jobId").GetString()!;
        using var http = new HttpClient();
        async Task RaiseAsync(object payload)
        {
            using var response = await http.PostAsync(callback.Replace("{eventName}", "TrainingFailed-train", StringComparison.Ordinal), JsonContent.Create(payload));
            Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        }

        await RaiseAsync(new { jobId = "someone-else", attempt = 1, error = "not mine" });
        await RaiseAsync(new { jobId, attempt = 0, error = "an older attempt" });
        jobs.StartTrainer();

        var done = await jobs.WaitForRunAsync(runId);
        Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed, $"{done.RuntimeStatus}: {done.SerializedOutput}\n{jobs.TrainerOutput}");
        Assert.Equal(NodeState.Complete, done.ReadOutputAs<PipelineRunStatus>()!.Nodes.Single().State);
    }

    [Fact]
    public async Task GpuNode_WorkerDiesMoreThanMaxDequeueCount_FailsNodeAsPoison()
    {
        await using var jobs = await JobHarness.StartAsync(azurite.ConnectionString, ", \"maxDequeueCount\": 1");
        var log = Path.Combine(jobs.Home, "probe.log");
        var gate = Path.Combine(jobs.Home, "never");
        var runId = await jobs.StartRunAsync("poison", Pipeline("poison", $"steps: 3, pause_at_step: 1, gate: \"{gate}\", log: \"{log}\""), "poison-1");
        var first = jobs.StartTrainer();
        await jobs.WaitForFileAsync(log, t => t.Contains("paused 1", StringComparison.Ordinal), "the first worker reaching step 1");
        await JobHarness.KillAsync(first);
        jobs.StartTrainer();

        var done = await jobs.WaitForRunAsync(runId);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        var node = (await jobs.StatusAsync(runId))!.Nodes.Single();
        Assert.Contains("was handed out 2 times without finishing", node.Error, StringComparison.Ordinal);
        Assert.Contains("maxDequeueCount = 1", node.Error, StringComparison.Ordinal);
        Assert.Equal(1, (await File.ReadAllLinesAsync(log)).Count(l => l.StartsWith("start", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task PenguinsTrainSample_TunerAndTrainerRunOnTheTrainerApp_ModelTrainedThere()
    {
        await using var jobs = await JobHarness.StartAsync(azurite.ConnectionString);
        var samples = Path.Combine(AzuriteProcess.FindRepositoryRoot(), "samples");
        var folder = Path.Combine(jobs.Home, "pipelines");
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        File.Copy(Path.Combine(samples, "data", "penguins.csv"), Path.Combine(folder, "data", "penguins.csv"));
        File.Copy(Path.Combine(samples, "penguins_transform.yaml"), Path.Combine(folder, "penguins_transform.yaml"));
        // The sample as shipped (Tuner and Trainer in pool gpu), with small budgets.
        var yaml = (await File.ReadAllTextAsync(Path.Combine(samples, "penguins_train.yaml")))
            .Replace("max_epochs: 27", "max_epochs: 3", StringComparison.Ordinal)
            .Replace("epochs: 60", "epochs: 5", StringComparison.Ordinal);
        Assert.Equal(2, yaml.Split("\n    pool: gpu").Length - 1);
        var trainer = jobs.StartTrainer();
        var runId = await jobs.StartRunAsync("penguins_train", yaml, "penguins-1");

        var done = await jobs.WaitForRunAsync(runId);
        Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed, $"{done.RuntimeStatus}: {done.SerializedOutput}\n{jobs.TrainerOutput}");
        var nodes = done.ReadOutputAs<PipelineRunStatus>()!.Nodes.ToDictionary(n => n.Node);
        Assert.All(nodes.Values, n => Assert.Equal(NodeState.Complete, n.State));
        Assert.Contains($"/{trainer.Id} ", nodes["tuner"].Detail, StringComparison.Ordinal);
        Assert.Contains($"/{trainer.Id} ", nodes["trainer"].Detail, StringComparison.Ordinal);
        Assert.Null(nodes["transform"].Detail); // not a GPU node: an ordinary activity here
        await using var info = await jobs.Runtime.Blobs.OpenReadAsync(nodes["trainer"].Artifacts["model_run"] + "/training.json");
        var training = await JsonDocument.ParseAsync(info);
        Assert.Equal(trainer.Id, training.RootElement.GetProperty("worker_pid").GetInt32());
        Assert.NotEqual(Environment.ProcessId, training.RootElement.GetProperty("worker_pid").GetInt32());
    }

    private static async Task WaitForCheckpointCopyAsync(string folder, string step)
    {
        var deadline = DateTime.UtcNow + JobHarness.Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (Directory.Exists(folder) && Directory.GetFiles(folder, "checkpoint.bin", SearchOption.AllDirectories) is [var file] && await File.ReadAllTextAsync(file) == step)
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no checkpoint copy of step {step} under {folder}");
    }
}

using Azure;
using Azure.Storage.Queues;
using Serverless.Pipelines;
using Serverless.Pipelines.Hosting.GpuJobs;
using Serverless.Pipelines.Orchestration;
using Serverless.Testing.Azurite;

namespace Serverless.TrainerApp.Tests;

/// <summary>
/// The job queue with an identity-based connection (<c>{name}__queueServiceUri</c> + an Entra ID token), as
/// infra/main.bicep configures both apps with shared keys off: https Azurite with <c>--oauth basic</c> checks the token.
/// </summary>
public sealed class KeylessJobQueueTests(HttpsAzuriteFixture azurite) : IClassFixture<HttpsAzuriteFixture>
{
    private TrainingJobQueue Queue(string name, EntraLikeCredential credential) => new(
        new TrainerJobOptions { QueueName = name, ConnectionStringName = "Jobs" },
        setting => setting == "Jobs__queueServiceUri" ? azurite.Azurite.QueueEndpoint.AbsoluteUri : null,
        credential,
        new QueueClientOptions { Transport = azurite.TrustingTransport() });

    private static TrainingJobMessage Job(string id) => new()
    {
        JobId = id,
        Attempt = 1,
        InstanceId = "run-1",
        Events = TrainingJobEvents.For("trainer"),
        Callback = "http://127.0.0.1:1/runtime/webhooks/durabletask/instances/run-1/raiseEvent/{eventName}",
        Request = new NodeRunRequest { PipelineName = "p", RunId = "run-1", NodeId = "trainer", ExecutionId = id, Component = "Trainer" },
        CheckpointUri = "_checkpoints/p/trainer/" + id,
    };

    [Fact]
    public async Task QueueServiceUriAndToken_JobRoundTrips()
    {
        var credential = new EntraLikeCredential(DateTimeOffset.UtcNow.AddHours(1));
        var queue = Queue("keyless-jobs", credential);

        var submitted = await queue.SendAsync(Job("exec-1"));
        var received = await queue.ReceiveAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, submitted.QueueLength);
        Assert.NotNull(received);
        Assert.Equal("exec-1", TrainingJobQueue.Parse(received).JobId);
        Assert.True(await queue.TryDeleteAsync(received.MessageId, received.PopReceipt));
        Assert.Equal(0, await queue.CountAsync());
        Assert.Contains("https://storage.azure.com/.default", credential.RequestedScopes);
    }

    [Fact]
    public async Task ExpiredToken_Refused()
    {
        var queue = Queue("keyless-expired", new EntraLikeCredential(DateTimeOffset.UtcNow.AddHours(-1)));

        var e = await Assert.ThrowsAsync<RequestFailedException>(() => queue.SendAsync(Job("exec-2")));

        Assert.Equal(403, e.Status);
    }

    [Fact]
    public void NoConnection_ErrorNamesTheSettings()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new TrainingJobQueue(new TrainerJobOptions { QueueName = "q", ConnectionStringName = "Jobs" }, _ => null));

        Assert.Contains("trainerJobs", e.Message, StringComparison.Ordinal);
        Assert.Contains("'Jobs__queueServiceUri'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'Jobs__accountName'", e.Message, StringComparison.Ordinal);
    }
}

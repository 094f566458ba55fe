using Azure;
using DurableTask.AzureStorage;
using Serverless.Hosting.Configuration;
using Serverless.Hosting.Providers;

namespace Serverless.Hosting.Tests.Providers;

/// <summary>
/// The worker's view of the Azure Storage provider: no dispatcher back-off for a message that is already gone, the
/// provider's back-off for everything else. (The Azurite outage test shows the effect end to end.)
/// </summary>
public sealed class AzureStorageWorkerServiceTests
{
    private static AzureStorageWorkerService Worker()
    {
        // Construction makes no storage call; the provider's own delays are what the worker falls back to.
        var settings = AzureStorageProviderFactory.Map(DurableTaskHostSettings.Default(), "UseDevelopmentStorage=true");
        return new AzureStorageWorkerService(new AzureStorageOrchestrationService(settings));
    }

    // The provider wraps the SDK's RequestFailedException in its own (internal) DurableTaskStorageException.
    private static InvalidOperationException Storage(int status, string code) =>
        new("An error occurred while communicating with Azure Storage", new RequestFailedException(status, $"queue answered {code}", code, null));

    [Theory]
    [InlineData(400, "PopReceiptMismatch")]
    [InlineData(404, "MessageNotFound")]
    public void MessageAlreadyGone_NoBackOff(int status, string code)
    {
        var worker = Worker();
        Assert.Equal(0, worker.GetDelayInSecondsAfterOnProcessException(Storage(status, code)));
        Assert.Equal(0, worker.GetDelayInSecondsAfterOnProcessException(new AggregateException(Storage(status, code), Storage(status, code))));
    }

    [Fact]
    public void OtherFailures_KeepTheProvidersBackOff()
    {
        var worker = Worker();
        var providers = worker.Inner.GetDelayInSecondsAfterOnProcessException(new IOException("connection refused"));
        Assert.True(providers > 0);
        Assert.Equal(providers, worker.GetDelayInSecondsAfterOnProcessException(new IOException("connection refused")));
        Assert.Equal(providers, worker.GetDelayInSecondsAfterOnProcessException(Storage(500, "InternalError")));
        Assert.Equal(providers, worker.GetDelayInSecondsAfterOnProcessException(Storage(404, "QueueNotFound")));
        Assert.Equal(providers, worker.GetDelayInSecondsAfterOnProcessException(new AggregateException(Storage(400, "PopReceiptMismatch"), new IOException("x"))));
        Assert.Equal(worker.Inner.GetDelayInSecondsAfterOnFetchException(new IOException("x")), worker.GetDelayInSecondsAfterOnFetchException(new IOException("x")));
    }
}

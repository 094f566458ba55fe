using Azure;
using Serverless.Storage.Queues;
using Serverless.Storage.Queues.Models;
using Serverless.Storage.Sas;
using Serverless.Testing.Azurite;

namespace Serverless.Storage.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class QueueClientTests(AzuriteFixture azurite)
{
    private async Task<QueueClient> NewQueueAsync(QueueClientOptions? options = null)
    {
        var queue = new QueueServiceClient(azurite.ConnectionString, options).GetQueueClient(TestData.Name("q"));
        Assert.NotNull(await queue.CreateIfNotExistsAsync());
        return queue;
    }

    [Fact]
    public async Task ReceiveMessagesAsync_VisibilityTimeout_HidesMessageUntilItExpires()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("work <item> & \"1\"");

        var first = Assert.Single((await queue.ReceiveMessagesAsync(10, TimeSpan.FromSeconds(2))).Value);
        var whileHidden = (await queue.ReceiveMessagesAsync(10)).Value;
        var peekedWhileHidden = (await queue.PeekMessagesAsync(10)).Value;
        await Task.Delay(TimeSpan.FromSeconds(3));
        var again = Assert.Single((await queue.ReceiveMessagesAsync(10, TimeSpan.FromSeconds(30))).Value);

        Assert.Equal("work <item> & \"1\"", first.MessageText);
        Assert.Empty(whileHidden);
        Assert.Empty(peekedWhileHidden);
        Assert.Equal(first.MessageId, again.MessageId);
        Assert.Equal(1, first.DequeueCount);
        Assert.Equal(2, again.DequeueCount);
        Assert.NotEqual(first.PopReceipt, again.PopReceipt);
    }

    [Fact]
    public async Task DeleteMessageAsync_StalePopReceipt_FailsAndCurrentOneDeletes()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("m");
        var first = (await queue.ReceiveMessageAsync(TimeSpan.FromSeconds(1))).Value!;
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var second = (await queue.ReceiveMessageAsync(TimeSpan.FromSeconds(30))).Value!;

        var stale = await Assert.ThrowsAsync<RequestFailedException>(() => queue.DeleteMessageAsync(first.MessageId, first.PopReceipt));
        await queue.DeleteMessageAsync(second.MessageId, second.PopReceipt);

        Assert.Equal(400, stale.Status);
        Assert.Equal("PopReceiptMismatch", stale.ErrorCode);
        Assert.Equal(0, (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task PeekMessagesAsync_VisibleMessages_DoesNotHideOrCount()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("a");
        await queue.SendMessageAsync("b");

        var peek1 = (await queue.PeekMessagesAsync(5)).Value;
        var peek2 = (await queue.PeekMessagesAsync(5)).Value;

        Assert.Equal(["a", "b"], peek1.Select(m => m.MessageText));
        Assert.Equal(["a", "b"], peek2.Select(m => m.MessageText));
        Assert.All(peek2, m => Assert.Equal(0, m.DequeueCount));
        Assert.Equal(2, (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task SendMessageAsync_VisibilityDelay_IsInvisibleUntilDelayPasses()
    {
        var queue = await NewQueueAsync();
        var receipt = (await queue.SendMessageAsync("later", visibilityTimeout: TimeSpan.FromSeconds(2), timeToLive: TimeSpan.FromMinutes(5))).Value;

        var early = (await queue.ReceiveMessagesAsync()).Value;
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var late = (await queue.ReceiveMessagesAsync()).Value;

        Assert.Empty(early);
        Assert.Equal(receipt.MessageId, Assert.Single(late).MessageId);
        Assert.InRange(receipt.ExpirationTime - receipt.InsertionTime, TimeSpan.FromMinutes(4.9), TimeSpan.FromMinutes(5.1));
    }

    [Fact]
    public async Task UpdateMessageAsync_NewTextAndZeroVisibility_MakesUpdatedMessageVisible()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("v1");
        var received = (await queue.ReceiveMessageAsync(TimeSpan.FromMinutes(1))).Value!;

        var update = (await queue.UpdateMessageAsync(received.MessageId, received.PopReceipt, "v2", TimeSpan.Zero)).Value;
        var again = (await queue.ReceiveMessageAsync()).Value!;
        var stale = await Assert.ThrowsAsync<RequestFailedException>(() => queue.UpdateMessageAsync(received.MessageId, received.PopReceipt, null, TimeSpan.Zero));

        Assert.NotEqual(received.PopReceipt, update.PopReceipt);
        Assert.Equal("v2", again.MessageText);
        Assert.Equal(received.MessageId, again.MessageId);
        Assert.Equal(400, stale.Status);
        Assert.Equal("PopReceiptMismatch", stale.ErrorCode);
    }

    [Fact]
    public async Task SendMessageAsync_Base64Encoding_RoundTripsBinary()
    {
        var queue = await NewQueueAsync(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var payload = new byte[] { 0, 1, 2, 255, 254, 0x3c };

        await queue.SendMessageAsync(BinaryData.FromBytes(payload));
        var received = (await queue.ReceiveMessageAsync()).Value!;

        Assert.Equal(payload, received.Body.ToArray());
    }

    [Fact]
    public async Task SendMessageAsync_MissingQueue_ThrowsClearQueueNotFound()
    {
        var queue = new QueueServiceClient(azurite.ConnectionString).GetQueueClient(TestData.Name("nq"));

        var e = await Assert.ThrowsAsync<RequestFailedException>(() => queue.SendMessageAsync("x"));

        Assert.Equal("QueueNotFound", e.ErrorCode);
        Assert.Contains($"Queue '{queue.Name}' does not exist", e.Message, StringComparison.Ordinal);
        Assert.False((await queue.ExistsAsync()).Value);
    }

    [Fact]
    public async Task AccountSas_QueueService_SendsAndReceives()
    {
        var queue = await NewQueueAsync();
        var sas = new AccountSasBuilder(AccountSasPermissions.Add | AccountSasPermissions.Process | AccountSasPermissions.Read,
                DateTimeOffset.UtcNow.AddMinutes(10), AccountSasServices.Queues, AccountSasResourceTypes.Object)
            .ToSasQueryParameters(new StorageSharedKeyCredential(AzuriteProcess.AccountName, AzuriteProcess.AccountKey));
        var viaSas = new QueueClient(new Uri(queue.Uri.AbsoluteUri + "?" + sas));

        await viaSas.SendMessageAsync("from sas");
        var received = (await viaSas.ReceiveMessageAsync()).Value!;

        Assert.Equal("from sas", received.MessageText);
    }

    [Fact]
    public async Task ClearMessagesAsync_WithMessages_EmptiesQueueAndDeleteRemovesIt()
    {
        var queue = await NewQueueAsync();
        for (var i = 0; i < 3; i++) await queue.SendMessageAsync("m");

        await queue.ClearMessagesAsync();
        var count = (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;

        Assert.Equal(0, count);
        Assert.True((await queue.DeleteIfExistsAsync()).Value);
        Assert.False((await queue.ExistsAsync()).Value);
    }
}

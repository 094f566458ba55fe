using System.Net.Sockets;
using Serverless.Testing.Azurite;

namespace Serverless.Storage.Tests;

public sealed class AzuriteHarnessTests
{
    [Fact]
    public async Task StartAsync_Default_ListensOnThreeLoopbackPortsAndCleansUpOnDispose()
    {
        var azurite = await AzuriteProcess.StartAsync();
        string folder = azurite.DataFolder;
        int blobPort = azurite.BlobPort;
        try
        {
            Assert.True(Directory.Exists(folder));
            Assert.Equal(3, new[] { azurite.BlobPort, azurite.QueuePort, azurite.TablePort }.Distinct().Count());
            foreach (var port in new[] { azurite.BlobPort, azurite.QueuePort, azurite.TablePort })
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                Assert.True(client.Connected);
            }
        }
        finally
        {
            await azurite.DisposeAsync();
        }

        Assert.False(Directory.Exists(folder));
        using var after = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => after.ConnectAsync("127.0.0.1", blobPort));
    }
}

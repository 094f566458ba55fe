namespace Serverless.Storage.Tests;

public sealed class ConnectionStringTests
{
    [Fact]
    public void Parse_DevelopmentStorage_UsesAzuriteDefaults()
    {
        var cs = StorageConnectionString.Parse("UseDevelopmentStorage=true");
        Assert.Equal("devstoreaccount1", cs.AccountName);
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), cs.BlobEndpoint);
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), cs.QueueEndpoint);
        Assert.NotNull(cs.SharedKeyCredential);
    }

    [Fact]
    public void Parse_AccountWithSuffix_DerivesEndpoints()
    {
        var cs = StorageConnectionString.Parse("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn");
        Assert.Equal(new Uri("https://acct.blob.core.chinacloudapi.cn"), cs.BlobEndpoint);
        Assert.Equal(new Uri("https://acct.queue.core.chinacloudapi.cn"), cs.QueueEndpoint);
        Assert.Equal(new Uri("https://acct.table.core.chinacloudapi.cn"), cs.TableEndpoint);
    }

    [Fact]
    public void Parse_SasWithBlobEndpoint_InfersAccountAndKeepsSas()
    {
        var cs = StorageConnectionString.Parse("BlobEndpoint=https://myacct.blob.core.windows.net/;SharedAccessSignature=?sv=2025-01-05&sig=abc%3D");
        Assert.Equal("myacct", cs.AccountName);
        Assert.Equal("sv=2025-01-05&sig=abc%3D", cs.SharedAccessSignature);
        Assert.Null(cs.SharedKeyCredential);
        Assert.Null(cs.QueueEndpoint);
        var e = Assert.Throws<ArgumentException>(() => cs.GetRequiredQueueEndpoint());
        Assert.Contains("QueueEndpoint", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AccountName=acct", "missing credentials")]
    [InlineData("AccountKey=a2V5", "missing AccountName")]
    [InlineData("SharedAccessSignature=sv=1&sig=2", "missing AccountName or an explicit BlobEndpoint")]
    [InlineData("AccountName=acct;AccountKey", "segment 2 is not of the form Key=Value")]
    [InlineData("AccountName=acct;AcountKey=a2V5", "unknown key 'AcountKey'")]
    [InlineData("AccountName=acct;AccountKey=not base64!", "AccountKey that is not valid base64")]
    [InlineData("AccountName=acct;AccountKey=a2V5;BlobEndpoint=not-a-uri", "BlobEndpoint that is not an absolute http(s) URI")]
    [InlineData("AccountName=acct;AccountName=b;AccountKey=a2V5", "key 'AccountName' twice")]
    [InlineData("DefaultEndpointsProtocol=ftp;AccountName=acct;AccountKey=a2V5", "DefaultEndpointsProtocol")]
    [InlineData("  ", "is empty")]
    public void Parse_MalformedOrIncomplete_ThrowsNamingWhatIsWrong(string connectionString, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => StorageConnectionString.Parse(connectionString));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BadKey_DoesNotEchoSecret()
    {
        var e = Assert.Throws<ArgumentException>(() => StorageConnectionString.Parse("AccountName=acct;AccountKey=SECRET-not-base64"));
        Assert.DoesNotContain("SECRET", e.Message, StringComparison.Ordinal);
    }
}

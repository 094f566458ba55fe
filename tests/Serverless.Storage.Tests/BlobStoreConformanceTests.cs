using System.Diagnostics;
using Serverless.Testing.Azurite;
using System.Text;
using Xunit.Abstractions;

namespace Serverless.Storage.Tests;

/// <summary>
/// The <see cref="IBlobStore"/> contract, run against every implementation (STYLE.md: one conformance suite per port).
/// </summary>
public abstract class BlobStoreConformanceTests(ITestOutputHelper output)
{
    private const long TwoGigabytes = 2L * 1024 * 1024 * 1024;
    private const long WorkingSetLimit = 300L * 1024 * 1024;

    /// <summary>A fresh, empty store.</summary>
    protected abstract IBlobStore CreateStore();

    private static async Task<byte[]> ReadAllAsync(IBlobStore store, string name)
    {
        await using var s = await store.OpenReadAsync(name);
        var m = new MemoryStream();
        await s.CopyToAsync(m);
        return m.ToArray();
    }

    private static Task<BlobItemProperties> PutAsync(IBlobStore store, string name, string text, BlobUploadOptions? options = null) =>
        store.UploadAsync(name, new MemoryStream(Encoding.UTF8.GetBytes(text)), options);

    [Fact]
    public async Task UploadAsync_ThenOpenRead_RoundTripsBytesAndProperties()
    {
        var store = CreateStore();
        var data = TestData.Bytes(300_000);

        var written = await store.UploadAsync("pipe/node/out/1/data.bin", new MemoryStream(data),
            new BlobUploadOptions { Metadata = new Dictionary<string, string> { ["kind"] = "examples" } });
        var props = await store.GetPropertiesAsync("pipe/node/out/1/data.bin");

        Assert.Equal(data, await ReadAllAsync(store, "pipe/node/out/1/data.bin"));
        Assert.NotNull(props);
        Assert.Equal(data.Length, written.Length);
        Assert.Equal(data.Length, props.Length);
        Assert.Equal(written.ETag, props.ETag);
        Assert.Equal("examples", props.Metadata["kind"]);
        Assert.False(string.IsNullOrEmpty(props.ETag));
    }

    [Fact]
    public async Task UploadAsync_Overwrite_ReplacesContentAndChangesETag()
    {
        var store = CreateStore();
        var v1 = await PutAsync(store, "x.txt", "one");
        var v2 = await PutAsync(store, "x.txt", "two");
        var v3 = await PutAsync(store, "x.txt", "two");

        Assert.NotEqual(v1.ETag, v2.ETag);
        Assert.NotEqual(v2.ETag, v3.ETag);
        Assert.Equal("two", Encoding.UTF8.GetString(await ReadAllAsync(store, "x.txt")));
        Assert.Empty((await store.GetPropertiesAsync("x.txt"))!.Metadata);
    }

    [Fact]
    public async Task Missing_Blob_PropertiesNullOpenThrowsDeleteFalse()
    {
        var store = CreateStore();

        Assert.Null(await store.GetPropertiesAsync("nope/missing"));
        var e = await Assert.ThrowsAsync<BlobNotFoundException>(() => store.OpenReadAsync("nope/missing"));
        Assert.Equal("nope/missing", e.BlobName);
        Assert.False(await store.DeleteAsync("nope/missing"));
        Assert.Empty(await ToListAsync(store.ListAsync("")));
    }

    [Fact]
    public async Task DeleteAsync_Existing_RemovesItAndReturnsTrue()
    {
        var store = CreateStore();
        await PutAsync(store, "d/x", "1");

        Assert.True(await store.DeleteAsync("d/x"));
        Assert.Null(await store.GetPropertiesAsync("d/x"));
        Assert.False(await store.DeleteAsync("d/x"));
    }

    [Fact]
    public async Task ListAsync_Prefix_ReturnsAllDepthsInOrdinalOrderAcrossPages()
    {
        var store = CreateStore();
        string[] inside = ["run/a", "run/b/c", "run/b/d/e", "run/ba", "run/z", "run2/x-not-a-dir-match"];
        foreach (var name in inside.Concat(["other/a", "ru"])) await PutAsync(store, name, name);

        var all = (await ToListAsync(store.ListAsync("run"))).Select(p => p.Name).ToList();
        var dir = (await ToListAsync(store.ListAsync("run/"))).Select(p => p.Name).ToList();
        var partial = (await ToListAsync(store.ListAsync("run/b"))).Select(p => p.Name).ToList();
        var everything = await ToListAsync(store.ListAsync(""));

        Assert.Equal(inside.Order(StringComparer.Ordinal), all);
        Assert.Equal(inside.Where(n => n.StartsWith("run/", StringComparison.Ordinal)).Order(StringComparer.Ordinal), dir);
        Assert.Equal(["run/b/c", "run/b/d/e", "run/ba"], partial);
        Assert.Equal(8, everything.Count);
        Assert.All(everything, p => Assert.Equal(p.Name.Length, p.Length));
    }

    [Fact]
    public async Task ListAsync_AfterUpload_ReportsTheUploadsETagAndMetadata()
    {
        // The blob trigger names receipts after a listed ETag and compares it with GetPropertiesAsync: the three must agree.
        var store = CreateStore();
        var written = await PutAsync(store, "l/a", "a", new BlobUploadOptions { Metadata = new Dictionary<string, string> { ["k"] = "v" } });

        var listed = Assert.Single(await ToListAsync(store.ListAsync("l/")));
        var props = await store.GetPropertiesAsync("l/a");

        Assert.Equal(written.ETag, listed.ETag);
        Assert.Equal(written.ETag, props!.ETag);
        Assert.Equal("v", listed.Metadata["k"]);
        Assert.Equal(1, listed.Length);
        Assert.True(await store.DeleteAsync("l/a"));
        await PutAsync(store, "l/a", "b", new BlobUploadOptions { IfMatch = null, IfNotExists = true });
        Assert.NotEqual(written.ETag, Assert.Single(await ToListAsync(store.ListAsync("l/"))).ETag);
    }

    [Fact]
    public async Task UploadAsync_IfNotExistsTwice_SecondFailsAndKeepsFirst()
    {
        var store = CreateStore();
        await PutAsync(store, "once", "first", new BlobUploadOptions { IfNotExists = true });

        var e = await Assert.ThrowsAsync<BlobConditionFailedException>(() => PutAsync(store, "once", "second", new BlobUploadOptions { IfNotExists = true }));

        Assert.Equal("once", e.BlobName);
        Assert.Equal("first", Encoding.UTF8.GetString(await ReadAllAsync(store, "once")));
    }

    [Fact]
    public async Task UploadAsync_IfNotExistsRace_ExactlyOneWins()
    {
        var store = CreateStore();
        var attempts = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            try
            {
                await PutAsync(store, "race", $"writer {i}", new BlobUploadOptions { IfNotExists = true });
                return true;
            }
            catch (BlobConditionFailedException)
            {
                return false;
            }
        })).ToArray();

        var results = await Task.WhenAll(attempts);

        Assert.Equal(1, results.Count(r => r));
    }

    [Fact]
    public async Task UploadAsync_IfMatch_StaleETagFailsCurrentSucceeds()
    {
        var store = CreateStore();
        var v1 = await PutAsync(store, "m", "1");
        var v2 = await PutAsync(store, "m", "2", new BlobUploadOptions { IfMatch = v1.ETag });

        await Assert.ThrowsAsync<BlobConditionFailedException>(() => PutAsync(store, "m", "3", new BlobUploadOptions { IfMatch = v1.ETag }));
        await Assert.ThrowsAsync<BlobConditionFailedException>(() => PutAsync(store, "never-written", "3", new BlobUploadOptions { IfMatch = v1.ETag }));
        var v3 = await PutAsync(store, "m", "3", new BlobUploadOptions { IfMatch = v2.ETag });

        Assert.Equal("3", Encoding.UTF8.GetString(await ReadAllAsync(store, "m")));
        Assert.Equal(v3.ETag, (await store.GetPropertiesAsync("m"))!.ETag);
    }

    [Theory]
    [InlineData("with space/file name.txt")]
    [InlineData("ünïcödé/数据/модель.onnx")]
    [InlineData("emoji 🚀/a+b=c&d%20e#f?.bin")]
    public async Task UploadAsync_SpacesAndUnicodeNames_RoundTripAndList(string name)
    {
        var store = CreateStore();
        await PutAsync(store, name, name);

        Assert.Equal(name, Encoding.UTF8.GetString(await ReadAllAsync(store, name)));
        Assert.Equal([name], (await ToListAsync(store.ListAsync(name[..(name.IndexOf('/') + 1)]))).Select(p => p.Name));
        Assert.True(await store.DeleteAsync(name));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/../../escape")]
    [InlineData("a/..")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\b")]
    [InlineData("a//b")]
    [InlineData("a/")]
    [InlineData("./a")]
    [InlineData("")]
    public async Task AnyOperation_InvalidName_ThrowsArgumentExceptionNamingIt(string name)
    {
        var store = CreateStore();

        var upload = await Assert.ThrowsAnyAsync<ArgumentException>(() => PutAsync(store, name, "x"));
        var read = await Assert.ThrowsAnyAsync<ArgumentException>(() => store.OpenReadAsync(name));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.GetPropertiesAsync(name));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.DeleteAsync(name));

        Assert.Contains($"'{name}'", upload.Message, StringComparison.Ordinal);
        Assert.Contains($"'{name}'", read.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListAsync_TraversalPrefix_Throws()
    {
        var store = CreateStore();

        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await ToListAsync(store.ListAsync("../")));
    }

    [Fact]
    public async Task UploadAsync_ConcurrentReader_NeverSeesAPartialBlob()
    {
        var store = CreateStore();
        const int size = 3 * 1024 * 1024;
        await store.UploadAsync("atomic.bin", new MemoryStream(Filled(size, 0)));
        using var stop = new CancellationTokenSource();
        var reads = 0;
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var bytes = await ReadAllAsync(store, "atomic.bin");
                Assert.Equal(size, bytes.Length);
                Assert.True(bytes.All(b => b == bytes[0]), $"torn read: first byte {bytes[0]}, mixed content");
                reads++;
            }
        });

        for (byte version = 1; version <= 6; version++)
            await store.UploadAsync("atomic.bin", new SlowStream(Filled(size, version)));
        await stop.CancelAsync();
        await reader;

        Assert.True(reads > 0);
        Assert.All(await ReadAllAsync(store, "atomic.bin"), b => Assert.Equal(6, b));
    }

    [Fact]
    public async Task UploadAsync_TwoGigabyteStream_StreamsBothWaysWithinWorkingSetLimit()
    {
        var store = CreateStore();
        // Start from a trimmed heap so that memory kept by earlier tests does not count against this one.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var baseline = WorkingSetSampler.Current();
        using var sampler = new WorkingSetSampler();
        var clock = Stopwatch.StartNew();

        await using (var source = new HashingReadStream(new PseudoRandomStream(TwoGigabytes, seed: 42)))
        {
            var written = await store.UploadAsync("big/2gb.bin", source);
            var uploadSeconds = clock.Elapsed.TotalSeconds;
            var expected = source.Hash();
            Assert.Equal(TwoGigabytes, written.Length);
            Assert.Equal(TwoGigabytes, source.Count);

            clock.Restart();
            await using var download = new HashingReadStream(await store.OpenReadAsync("big/2gb.bin"));
            var buffer = new byte[1024 * 1024];
            while (await download.ReadAsync(buffer) > 0)
            {
            }
            var downloadSeconds = clock.Elapsed.TotalSeconds;

            output.WriteLine($"{store.GetType().Name}: upload {uploadSeconds:F1} s ({2048 / uploadSeconds:F0} MB/s), download {downloadSeconds:F1} s ({2048 / downloadSeconds:F0} MB/s); " +
                             $"working set baseline {baseline / 1048576} MB, peak {sampler.PeakBytes / 1048576} MB, growth {(sampler.PeakBytes - baseline) / 1048576} MB");
            Assert.Equal(TwoGigabytes, download.Count);
            Assert.Equal(expected, download.Hash());
        }
        // The limit applies to what the transfer adds: earlier tests in this process (and the test host) can leave
        // a large baseline that no GC gives back, which says nothing about whether this transfer streams.
        Assert.True(sampler.PeakBytes - baseline < WorkingSetLimit,
            $"working set grew by {(sampler.PeakBytes - baseline) / 1048576} MB >= 300 MB during the 2 GB transfer (baseline {baseline / 1048576} MB, peak {sampler.PeakBytes / 1048576} MB)");
        Assert.True(await store.DeleteAsync("big/2gb.bin"));
    }

    private static byte[] Filled(int size, byte value)
    {
        var data = new byte[size];
        Array.Fill(data, value);
        return data;
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var item in source) list.Add(item);
        return list;
    }

    /// <summary>Hands out data in small pieces with pauses, so a write is in progress for a while.</summary>
    private sealed class SlowStream(byte[] data) : Stream
    {
        private int _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(2, cancellationToken);
            var n = Math.Min(Math.Min(buffer.Length, 256 * 1024), data.Length - _position);
            data.AsMemory(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

namespace Serverless.Testing.Azurite;

/// <summary>A read-only stream of <paramref name="length"/> deterministic pseudo-random bytes (xorshift64*),
/// generated on the fly so multi-GB uploads need no memory or disk for their source (tests and benchmarks).</summary>
public sealed class PseudoRandomStream(long length, ulong seed) : Stream
{
    private ulong _state = seed == 0 ? 0x9E3779B97F4A7C15UL : seed;
    private readonly byte[] _chunk = new byte[64 * 1024];
    private int _chunkPos = 64 * 1024;
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length && _position < length)
        {
            if (_chunkPos == _chunk.Length) Refill();
            var n = (int)Math.Min(Math.Min(buffer.Length - total, _chunk.Length - _chunkPos), length - _position);
            _chunk.AsSpan(_chunkPos, n).CopyTo(buffer[total..]);
            _chunkPos += n;
            _position += n;
            total += n;
        }
        return total;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    private void Refill()
    {
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(_chunk.AsSpan());
        var s = _state;
        for (var i = 0; i < words.Length; i++)
        {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            words[i] = s * 0x2545F4914F6CDD1DUL;
        }
        _state = s;
        _chunkPos = 0;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>Passes reads through while feeding a running SHA-256.</summary>
public sealed class HashingReadStream(Stream inner) : Stream
{
    private readonly System.Security.Cryptography.IncrementalHash _hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);

    public long Count { get; private set; }
    public byte[] Hash() => _hash.GetHashAndReset();
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => inner.Length;

    public override long Position
    {
        get => Count;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = inner.Read(buffer, offset, count);
        _hash.AppendData(buffer, offset, n);
        Count += n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        _hash.AppendData(buffer.Span[..n]);
        Count += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            inner.Dispose();
        }
        base.Dispose(disposing);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>Samples this process's working set every 50 ms and keeps the maximum.</summary>
public sealed class WorkingSetSampler : IDisposable
{
    private readonly Timer _timer;
    private long _peak;

    public WorkingSetSampler()
    {
        _peak = Current();
        _timer = new Timer(_ => Sample(), null, 0, 50);
    }

    public long PeakBytes { get { Sample(); return Interlocked.Read(ref _peak); } }

    public static long Current()
    {
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        return p.WorkingSet64;
    }

    private void Sample()
    {
        var now = Current();
        long seen;
        while (now > (seen = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, seen) != seen)
        {
        }
    }

    public void Dispose() => _timer.Dispose();
}

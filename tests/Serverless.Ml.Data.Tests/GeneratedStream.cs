namespace Serverless.Ml.Data.Tests;

/// <summary>A read-only, forward-only stream whose bytes are computed as they are read: large inputs for tests, never stored.</summary>
internal abstract class GeneratedStream : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = Produce(buffer, _position);
        _position += n;
        return n;
    }

    protected abstract int Produce(Span<byte> buffer, long position);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

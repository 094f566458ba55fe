namespace Serverless.Storage.Blobs;

/// <summary>
/// A read-only stream over a download that, when the connection breaks (IOException or an early end),
/// re-requests the remaining range and carries on; the caller sees one seamless stream.
/// </summary>
internal sealed class RetriableDownloadStream(
    Stream inner, long startOffset, long length, Func<long, long, CancellationToken, Task<Stream>> reopen, int maxRetries = 3) : Stream
{
    private Stream _inner = inner;
    private long _position;
    private int _retries;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_position >= length || buffer.Length == 0) return 0;
            try
            {
                var n = await _inner.ReadAsync(buffer, cancellationToken);
                if (n == 0) throw new IOException($"The download ended early at byte {_position} of {length}.");
                _position += n;
                return n;
            }
            catch (IOException) when (_retries < maxRetries && !cancellationToken.IsCancellationRequested)
            {
                _retries++;
                await _inner.DisposeAsync();
                _inner = await reopen(startOffset + _position, length - _position, cancellationToken);
            }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush() { }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync();
        await base.DisposeAsync();
    }
}

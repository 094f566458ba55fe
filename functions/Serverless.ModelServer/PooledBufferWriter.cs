using System.Buffers;
using Serverless.Serving;

namespace Serverless.ModelServer;

/// <summary>
/// A growable <see cref="IBufferWriter{T}"/> over pooled arrays: responses are built here, then sent with a
/// Content-Length. It never grows past its limit (the pool keeps what it lent, so one huge response would stay in
/// memory): asking for more throws a 413 <see cref="ServingException"/> naming the setting.
/// </summary>
internal sealed class PooledBufferWriter(int maxBytes) : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(4096, maxBytes));
    private int _written;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        var b = _buffer;
        _buffer = [];
        if (b.Length > 0) ArrayPool<byte>.Shared.Return(b);
    }

    private void Ensure(int sizeHint)
    {
        if (_buffer.Length - _written >= Math.Max(sizeHint, 256)) return;
        var needed = (long)_written + Math.Max(sizeHint, 256);
        if (needed > maxBytes)
            throw new ServingException(413, $"The response would exceed {maxBytes} bytes (MaxResponseBytes, --max-response-bytes); send fewer rows per request.");
        var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(maxBytes, Math.Max((long)_buffer.Length * 2, needed)));
        _buffer.AsSpan(0, _written).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = grown;
    }
}

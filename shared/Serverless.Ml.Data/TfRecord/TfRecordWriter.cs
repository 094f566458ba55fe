using System.Buffers.Binary;
using System.IO.Compression;

namespace Serverless.Ml.Data.TfRecord;

/// <summary>
/// Writes TFRecord framing exactly as TensorFlow does: per record a little-endian uint64 length, the masked
/// CRC-32C of those 8 bytes, the data, and the masked CRC-32C of the data.
/// </summary>
public sealed class TfRecordWriter : IDisposable, IAsyncDisposable
{
    private readonly Stream _inner;
    private readonly Stream _stream;
    private readonly byte[] _header = new byte[12];
    private readonly byte[] _footer = new byte[4];

    /// <summary>Wraps a stream (owned: disposed with the writer).</summary>
    public TfRecordWriter(Stream stream, bool gzip = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _inner = stream;
        _stream = gzip ? new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: false) : stream;
    }

    /// <summary>Records written so far.</summary>
    public long RecordCount { get; private set; }

    /// <summary>Bytes of framing and data written so far, before compression.</summary>
    public long ByteCount { get; private set; }

    /// <summary>Creates (overwrites) a file; compression <see cref="TfRecordCompression.Auto"/> picks gzip for <c>.gz</c>.</summary>
    public static TfRecordWriter Create(string path, TfRecordCompression compression = TfRecordCompression.Auto)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        return new TfRecordWriter(fs, TfRecordReader.IsGzip(path, compression));
    }

    /// <summary>Appends one record.</summary>
    public void Write(ReadOnlySpan<byte> record)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_header, (ulong)record.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(8), Crc32C.Mask(Crc32C.Compute(_header.AsSpan(0, 8))));
        BinaryPrimitives.WriteUInt32LittleEndian(_footer, Crc32C.Mask(Crc32C.Compute(record)));
        _stream.Write(_header);
        _stream.Write(record);
        _stream.Write(_footer);
        RecordCount++;
        ByteCount += 16 + record.Length;
    }

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose()
    {
        _stream.Dispose();
        if (!ReferenceEquals(_stream, _inner)) _inner.Dispose();
    }

    /// <summary>Flushes and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        if (!ReferenceEquals(_stream, _inner)) await _inner.DisposeAsync().ConfigureAwait(false);
    }
}

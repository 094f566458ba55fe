using System.Buffers.Binary;
using System.IO.Compression;

namespace Serverless.Ml.Data.TfRecord;

/// <summary>
/// Reads TFRecord files, verifying both CRCs of every record. A bad CRC, a truncated record or a declared length
/// above <see cref="MaxRecordBytes"/> throws <see cref="TfRecordFormatException"/> with the file and the record's
/// byte offset; a file that ends exactly after a record is a clean end. Memory follows the data actually read, not
/// the length a header declares: the record buffer grows as bytes arrive, so a 1.5 MB gzip file whose header claims
/// a huge record costs at most what it decompresses to.
/// </summary>
public sealed class TfRecordReader : IDisposable
{
    /// <summary>The default <see cref="MaxRecordBytes"/>: 64 MiB, far above any tf.Example of tabular data or an image.</summary>
    public const int DefaultMaxRecordBytes = 64 << 20;

    private readonly Stream _stream;
    private readonly byte[] _header = new byte[12];
    private byte[] _buffer = new byte[4096];

    /// <summary>Wraps a stream (owned). <paramref name="name"/> is used in error messages.</summary>
    public TfRecordReader(Stream stream, string name, bool gzip = false, int maxRecordBytes = DefaultMaxRecordBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecordBytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxRecordBytes, Array.MaxLength - 4);
        Name = name ?? "<stream>";
        MaxRecordBytes = maxRecordBytes;
        _stream = gzip ? new GZipStream(stream, CompressionMode.Decompress, leaveOpen: false) : stream;
    }

    /// <summary>Largest record accepted; a longer declared length is an error naming the offset (a corrupt header, or raise the limit).</summary>
    public int MaxRecordBytes { get; }

    /// <summary>Name of the source used in errors.</summary>
    public string Name { get; }

    /// <summary>Offset of the next record in the uncompressed record stream.</summary>
    public long Offset { get; private set; }

    /// <summary>Opens a file; <see cref="TfRecordCompression.Auto"/> picks gzip for <c>.gz</c>.</summary>
    public static TfRecordReader Open(string path, TfRecordCompression compression = TfRecordCompression.Auto, int maxRecordBytes = DefaultMaxRecordBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        try
        {
            return new TfRecordReader(fs, path, IsGzip(path, compression), maxRecordBytes);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    /// <summary>Reads every record of a file, each as a fresh array.</summary>
    public static IEnumerable<byte[]> ReadAll(string path, TfRecordCompression compression = TfRecordCompression.Auto)
    {
        using var r = Open(path, compression);
        while (r.TryRead(out var rec)) yield return rec.ToArray();
    }

    internal static bool IsGzip(string path, TfRecordCompression compression) => compression switch
    {
        TfRecordCompression.Gzip => true,
        TfRecordCompression.None => false,
        _ => path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".gzip", StringComparison.OrdinalIgnoreCase),
    };

    /// <summary>
    /// Reads the next record into an internal buffer (valid until the next call); false at a clean end of file.
    /// </summary>
    public bool TryRead(out ReadOnlyMemory<byte> record)
    {
        record = default;
        var start = Offset;
        var n = ReadFully(_header);
        if (n == 0) return false;
        if (n < 12) throw new TfRecordFormatException(Name, start, $"truncated record header ({n} of 12 bytes)");
        var lengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(8));
        if (Crc32C.Mask(Crc32C.Compute(_header.AsSpan(0, 8))) != lengthCrc) throw new TfRecordFormatException(Name, start, "length CRC mismatch");
        var length = BinaryPrimitives.ReadUInt64LittleEndian(_header);
        if (length > (ulong)MaxRecordBytes)
        {
            throw new TfRecordFormatException(Name, start, $"record length {length} bytes is more than {nameof(MaxRecordBytes)} ({MaxRecordBytes}): a corrupt header, or raise {nameof(TfExampleReadOptions)}.{nameof(TfExampleReadOptions.MaxRecordBytes)}");
        }
        var len = (int)length;
        var need = len + 4;
        var got = 0;
        while (got < need)
        {
            // Grow with the bytes that actually arrive, never to the declared length up front.
            if (got == _buffer.Length) Array.Resize(ref _buffer, (int)Math.Min(need, (long)_buffer.Length * 2));
            var read = ReadSome(_buffer.AsSpan(got, Math.Min(need, _buffer.Length) - got));
            if (read == 0) break;
            got += read;
        }
        if (got < need) throw new TfRecordFormatException(Name, start, $"truncated record: {len} data bytes + 4 CRC bytes expected, {got} present");
        var dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(len));
        if (Crc32C.Mask(Crc32C.Compute(_buffer.AsSpan(0, len))) != dataCrc) throw new TfRecordFormatException(Name, start, "data CRC mismatch");
        Offset = start + 16 + len;
        record = _buffer.AsMemory(0, len);
        return true;
    }

    private int ReadFully(Span<byte> dst)
    {
        var total = 0;
        while (total < dst.Length)
        {
            var n = ReadSome(dst[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    private int ReadSome(Span<byte> dst)
    {
        try
        {
            return _stream.Read(dst);
        }
        catch (InvalidDataException e)
        {
            throw new TfRecordFormatException($"{Name}: TFRecord at byte offset {Offset}: corrupt gzip stream ({e.Message})", e);
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _stream.Dispose();
}

using System.Buffers.Binary;
using System.IO.Compression;

namespace Serverless.Ml.Data.Idx;

/// <summary>
/// Reads IDX files (the MNIST / Fashion-MNIST format: two zero bytes, a type byte, a dimension count, then
/// big-endian int32 dimensions and big-endian elements). Gzip-compressed files (<c>.gz</c>, as Debian's
/// dataset-fashion-mnist ships them) are detected by their magic bytes. Items stream one at a time.
/// </summary>
public sealed class IdxReader : IDisposable
{
    private readonly Stream _stream;
    private readonly byte[] _item;
    private int _next;

    private IdxReader(Stream stream, string path, IdxHeader header)
    {
        _stream = stream;
        Path = path;
        Header = header;
        _item = new byte[header.ItemSize * header.ElementSize];
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Type and dimensions.</summary>
    public IdxHeader Header { get; }

    /// <summary>Opens a file and reads its header.</summary>
    /// <exception cref="InvalidDataException">Not an IDX file.</exception>
    public static IdxReader Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        try
        {
            var b0 = fs.ReadByte();
            var b1 = fs.ReadByte();
            fs.Position = 0;
            Stream s = b0 == 0x1F && b1 == 0x8B ? new BufferedStream(new GZipStream(fs, CompressionMode.Decompress), 1 << 16) : fs;
            Span<byte> magic = stackalloc byte[4];
            if (ReadFully(s, magic) < 4 || magic[0] != 0 || magic[1] != 0 || !Enum.IsDefined((IdxDataType)magic[2]) || magic[3] == 0)
                throw new InvalidDataException($"{path}: not an IDX file (magic {Convert.ToHexString(magic)})");
            var dims = new int[magic[3]];
            Span<byte> d = stackalloc byte[4];
            for (var i = 0; i < dims.Length; i++)
            {
                if (ReadFully(s, d) < 4) throw new InvalidDataException($"{path}: truncated IDX header");
                dims[i] = BinaryPrimitives.ReadInt32BigEndian(d);
                if (dims[i] < 0) throw new InvalidDataException($"{path}: negative dimension {dims[i]}");
            }
            return new IdxReader(s, path, new IdxHeader((IdxDataType)magic[2], dims));
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    /// <summary>Reads the next item's elements as floats; false after the last item.</summary>
    /// <exception cref="InvalidDataException">The file ends before the header's item count.</exception>
    public bool TryReadItem(Span<float> destination)
    {
        if (_next == Header.Count) return false;
        if (destination.Length < Header.ItemSize) throw new ArgumentException("destination too small", nameof(destination));
        if (ReadFully(_stream, _item) < _item.Length)
            throw new InvalidDataException($"{Path}: truncated: item {_next} of {Header.Count} is incomplete");
        _next++;
        var raw = _item.AsSpan();
        var n = Header.ItemSize;
        switch (Header.DataType)
        {
            case IdxDataType.UInt8: for (var i = 0; i < n; i++) destination[i] = raw[i]; break;
            case IdxDataType.Int8: for (var i = 0; i < n; i++) destination[i] = (sbyte)raw[i]; break;
            case IdxDataType.Int16: for (var i = 0; i < n; i++) destination[i] = BinaryPrimitives.ReadInt16BigEndian(raw[(2 * i)..]); break;
            case IdxDataType.Int32: for (var i = 0; i < n; i++) destination[i] = BinaryPrimitives.ReadInt32BigEndian(raw[(4 * i)..]); break;
            case IdxDataType.Float32: for (var i = 0; i < n; i++) destination[i] = BinaryPrimitives.ReadSingleBigEndian(raw[(4 * i)..]); break;
            default: for (var i = 0; i < n; i++) destination[i] = (float)BinaryPrimitives.ReadDoubleBigEndian(raw[(8 * i)..]); break;
        }
        return true;
    }

    /// <summary>Reads the next item's raw bytes (uint8 files: the pixels); the span is valid until the next call.</summary>
    public bool TryReadRaw(out ReadOnlySpan<byte> item)
    {
        item = default;
        if (_next == Header.Count) return false;
        if (ReadFully(_stream, _item) < _item.Length)
            throw new InvalidDataException($"{Path}: truncated: item {_next} of {Header.Count} is incomplete");
        _next++;
        item = _item;
        return true;
    }

    /// <summary>Reads a whole uint8 file (e.g. labels) into memory.</summary>
    public static (IdxHeader Header, byte[] Data) ReadAllBytes(string path)
    {
        using var r = Open(path);
        if (r.Header.DataType != IdxDataType.UInt8) throw new InvalidDataException($"{path}: {r.Header.DataType} file, expected UInt8");
        var data = new byte[(long)r.Header.Count * r.Header.ItemSize];
        var p = 0;
        while (r.TryReadRaw(out var item)) { item.CopyTo(data.AsSpan(p)); p += item.Length; }
        return (r.Header, data);
    }

    private static int ReadFully(Stream s, Span<byte> dst)
    {
        var total = 0;
        while (total < dst.Length)
        {
            var n = s.Read(dst[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _stream.Dispose();
}

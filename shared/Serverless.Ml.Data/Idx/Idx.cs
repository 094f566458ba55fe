using System.Buffers.Binary;
using System.IO.Compression;

namespace Serverless.Ml.Data.Idx;

/// <summary>Element type of an IDX file (third magic byte).</summary>
public enum IdxDataType : byte
{
    /// <summary>Unsigned byte (MNIST pixels and labels).</summary>
    UInt8 = 0x08,

    /// <summary>Signed byte.</summary>
    Int8 = 0x09,

    /// <summary>Big-endian 16-bit integer.</summary>
    Int16 = 0x0B,

    /// <summary>Big-endian 32-bit integer.</summary>
    Int32 = 0x0C,

    /// <summary>Big-endian 32-bit float.</summary>
    Float32 = 0x0D,

    /// <summary>Big-endian 64-bit float.</summary>
    Float64 = 0x0E,
}

/// <summary>The header of an IDX file: element type and dimensions (the first is the item count).</summary>
/// <param name="DataType">Element type.</param>
/// <param name="Dimensions">Dimension sizes, outermost first.</param>
public sealed record IdxHeader(IdxDataType DataType, IReadOnlyList<int> Dimensions)
{
    /// <summary>Number of items (first dimension).</summary>
    public int Count => Dimensions[0];

    /// <summary>Shape of one item (dimensions after the first); empty for label files.</summary>
    public IReadOnlyList<int> ItemShape => Dimensions.Skip(1).ToArray();

    /// <summary>Elements per item.</summary>
    public int ItemSize => ItemShape.Aggregate(1, (a, b) => checked(a * b));

    /// <summary>Bytes per element.</summary>
    public int ElementSize => DataType switch
    {
        IdxDataType.UInt8 or IdxDataType.Int8 => 1,
        IdxDataType.Int16 => 2,
        IdxDataType.Int32 or IdxDataType.Float32 => 4,
        _ => 8,
    };
}

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

/// <summary>Writes IDX files; used to make small test fixtures and to export data to MNIST-style tools.</summary>
public static class IdxWriter
{
    /// <summary>Writes a uint8 IDX file (gzip when the name ends in <c>.gz</c>).</summary>
    public static void WriteUInt8(string path, IReadOnlyList<int> dimensions, ReadOnlySpan<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(dimensions);
        if (dimensions.Count is 0 or > 255) throw new ArgumentException("1 to 255 dimensions", nameof(dimensions));
        var total = dimensions.Aggregate(1L, (a, b) => a * b);
        if (total != data.Length) throw new ArgumentException($"data has {data.Length} bytes, dimensions need {total}", nameof(data));
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
        using Stream s = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(fs, CompressionLevel.Fastest) : fs;
        s.Write([0, 0, (byte)IdxDataType.UInt8, (byte)dimensions.Count]);
        Span<byte> d = stackalloc byte[4];
        foreach (var dim in dimensions)
        {
            BinaryPrimitives.WriteInt32BigEndian(d, dim);
            s.Write(d);
        }
        s.Write(data);
    }
}

/// <summary>Options for <see cref="IdxDatasetReader"/>.</summary>
public sealed class IdxDatasetOptions
{
    /// <summary>Name of the image column. Default <c>image</c>.</summary>
    public string ImageColumn { get; set; } = "image";

    /// <summary>Name of the label column. Default <c>label</c>.</summary>
    public string LabelColumn { get; set; } = "label";

    /// <summary>Divide pixel values by this (255 maps uint8 to [0, 1]). Default 1: raw values.</summary>
    public float Scale { get; set; } = 1f;

    /// <summary>Rows per batch. Default 8,192 (a 28x28 float batch is then 25 MB).</summary>
    public int BatchSize { get; set; } = 8_192;
}

/// <summary>
/// Pairs an IDX images file with an IDX labels file as a table: a fixed-shape float tensor column (the item shape,
/// e.g. 28x28) and an int64 label column. Streams items, so memory stays at one batch.
/// </summary>
public sealed class IdxDatasetReader : IRecordBatchReader
{
    private readonly IdxDatasetOptions _options;

    /// <summary>Checks both headers; counts must agree.</summary>
    /// <exception cref="InvalidDataException">Headers disagree or the labels file is not 1-D.</exception>
    public IdxDatasetReader(string imagesPath, string labelsPath, IdxDatasetOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesPath);
        ArgumentException.ThrowIfNullOrEmpty(labelsPath);
        _options = options ?? new IdxDatasetOptions();
        ImagesPath = imagesPath;
        LabelsPath = labelsPath;
        using var img = IdxReader.Open(imagesPath);
        using var lab = IdxReader.Open(labelsPath);
        if (lab.Header.Dimensions.Count != 1) throw new InvalidDataException($"{labelsPath}: labels must be 1-D, found {lab.Header.Dimensions.Count} dimensions");
        if (img.Header.Dimensions.Count < 2) throw new InvalidDataException($"{imagesPath}: images need at least 2 dimensions");
        if (img.Header.Count != lab.Header.Count) throw new InvalidDataException($"{imagesPath} has {img.Header.Count} items but {labelsPath} has {lab.Header.Count}");
        Count = img.Header.Count;
        Schema = new TableSchema([
            new ColumnSpec(_options.ImageColumn, ColumnKind.Float32Tensor, img.Header.ItemShape),
            new ColumnSpec(_options.LabelColumn, ColumnKind.Int64),
        ]);
    }

    /// <summary>The images file.</summary>
    public string ImagesPath { get; }

    /// <summary>The labels file.</summary>
    public string LabelsPath { get; }

    /// <summary>Number of items.</summary>
    public int Count { get; }

    /// <inheritdoc />
    public TableSchema Schema { get; }

    /// <inheritdoc />
    public IEnumerable<RecordBatch> ReadBatches(CancellationToken cancellation = default)
    {
        using var img = IdxReader.Open(ImagesPath);
        using var lab = IdxReader.Open(LabelsPath);
        var per = Schema.Columns[0].ValuesPerRow;
        var label = new float[1];
        var inv = 1f / _options.Scale;
        for (var start = 0; start < Count; start += _options.BatchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            var n = Math.Min(_options.BatchSize, Count - start);
            var pixels = new float[n * per];
            var labels = new long[n];
            for (var i = 0; i < n; i++)
            {
                var dst = pixels.AsSpan(i * per, per);
                img.TryReadItem(dst);
                if (_options.Scale != 1f) foreach (ref var v in dst) v *= inv;
                lab.TryReadItem(label);
                labels[i] = (long)label[0];
            }
            yield return new RecordBatch(Schema, [
                new Float32TensorColumn(Schema.Columns[0], pixels, new bool[n], n),
                new Int64Column(Schema.Columns[1], labels, new bool[n], n),
            ], n);
        }
    }
}

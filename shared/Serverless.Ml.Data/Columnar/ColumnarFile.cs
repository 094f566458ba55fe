using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Serverless.Ml.Data.TfRecord;

namespace Serverless.Ml.Data.Columnar;

/// <summary>
/// Our internal columnar file format (<c>.smlc</c>), written by ExampleGen beside the TFRecord shards so that our own
/// components read data without protobuf decoding. Layout (all little-endian):
/// <code>
/// "SMLCOL01" | u32 schemaLength | schema JSON (UTF-8)
/// then per batch: u32 payloadLength | u32 masked CRC-32C of payload | payload
/// payload: i32 rows, then per column: missing bitmap ((rows+7)/8 bytes, bit set = missing), then values:
///   Int64/Float64: rows x 8 bytes | Float32Tensor: rows x valuesPerRow x 4 bytes
///   String: i32 dictionaryCount, per entry i32 byteLength + UTF-8 bytes, then rows x i32 codes
///   Bytes: per row i32 length (-1 when missing) + bytes
/// </code>
/// The file ends after the last complete frame; a short frame or a CRC mismatch is an error naming the offset.
/// </summary>
public static class ColumnarFormat
{
    /// <summary>File extension.</summary>
    public const string Extension = ".smlc";

    internal static readonly byte[] Magic = "SMLCOL01"u8.ToArray();

    internal sealed record ColumnDto(string Name, ColumnKind Kind, int[] Shape);

    internal static byte[] SchemaJson(TableSchema schema) =>
        JsonSerializer.SerializeToUtf8Bytes(schema.Columns.Select(c => new ColumnDto(c.Name, c.Kind, c.Shape.ToArray())).ToArray());

    internal static TableSchema ParseSchema(ReadOnlySpan<byte> json)
    {
        var cols = JsonSerializer.Deserialize<ColumnDto[]>(json) ?? throw new InvalidDataException("columnar schema is null");
        return new TableSchema(cols.Select(c => new ColumnSpec(c.Name, c.Kind, c.Shape ?? [])));
    }
}

/// <summary>Writes record batches to a columnar file (see <see cref="ColumnarFormat"/>).</summary>
public sealed class ColumnarWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly MemoryStream _payload = new();

    /// <summary>Creates (overwrites) a file and writes the header.</summary>
    public ColumnarWriter(string path, TableSchema schema)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(schema);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("columnar files are written on little-endian machines");
        Schema = schema;
        _stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        var json = ColumnarFormat.SchemaJson(schema);
        _stream.Write(ColumnarFormat.Magic);
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(n, (uint)json.Length);
        _stream.Write(n);
        _stream.Write(json);
    }

    /// <summary>The schema every batch must have.</summary>
    public TableSchema Schema { get; }

    /// <summary>Rows written.</summary>
    public long RowCount { get; private set; }

    /// <summary>Appends a batch as one frame.</summary>
    public void Write(RecordBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!batch.Schema.Equals(Schema)) throw new ArgumentException($"batch schema ({batch.Schema}) differs from the file's ({Schema})", nameof(batch));
        var rows = batch.RowCount;
        _payload.SetLength(0);
        WriteInt(rows);
        var bitmap = new byte[(rows + 7) / 8];
        foreach (var col in batch.Columns)
        {
            Array.Clear(bitmap);
            for (var i = 0; i < rows; i++) if (col.Missing[i]) bitmap[i >> 3] |= (byte)(1 << (i & 7));
            _payload.Write(bitmap);
            switch (col)
            {
                case Int64Column l: _payload.Write(MemoryMarshal.AsBytes(l.Values.AsSpan(0, rows))); break;
                case Float64Column d: _payload.Write(MemoryMarshal.AsBytes(d.Values.AsSpan(0, rows))); break;
                case Float32TensorColumn t: _payload.Write(MemoryMarshal.AsBytes(t.Values.AsSpan(0, rows * t.Spec.ValuesPerRow))); break;
                case StringColumn s:
                    WriteInt(s.Dictionary.Count);
                    foreach (var v in s.Dictionary)
                    {
                        var b = Encoding.UTF8.GetBytes(v);
                        WriteInt(b.Length);
                        _payload.Write(b);
                    }
                    _payload.Write(MemoryMarshal.AsBytes(s.Codes.AsSpan(0, rows)));
                    break;
                case BytesColumn by:
                    for (var i = 0; i < rows; i++)
                    {
                        var v = by.Missing[i] ? null : by.Values[i];
                        WriteInt(v?.Length ?? -1);
                        if (v is not null) _payload.Write(v);
                    }
                    break;
            }
        }
        var payload = _payload.GetBuffer().AsSpan(0, (int)_payload.Length);
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(head, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(head[4..], Crc32C.Mask(Crc32C.Compute(payload)));
        _stream.Write(head);
        _stream.Write(payload);
        RowCount += rows;
    }

    private void WriteInt(int v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, v);
        _payload.Write(b);
    }

    /// <summary>Flushes and closes.</summary>
    public void Dispose()
    {
        _stream.Dispose();
        _payload.Dispose();
    }
}

/// <summary>Reads columnar files (all with the same schema) as record batches, one batch per stored frame.</summary>
public sealed class ColumnarReader : IRecordBatchReader
{
    private readonly IReadOnlyList<string> _files;

    /// <summary>Opens files and checks their schemas agree.</summary>
    /// <exception cref="InvalidDataException">Not a columnar file, or schemas differ.</exception>
    public ColumnarReader(IReadOnlyList<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0) throw new ArgumentException("no input files", nameof(files));
        _files = files;
        TableSchema? schema = null;
        foreach (var f in files)
        {
            using var s = File.OpenRead(f);
            var sch = ReadHeader(s, f);
            if (schema is not null && !schema.Equals(sch)) throw new InvalidDataException($"{f}: schema ({sch}) differs from {files[0]} ({schema})");
            schema = sch;
        }
        Schema = schema!;
    }

    /// <inheritdoc />
    public TableSchema Schema { get; }

    private static TableSchema ReadHeader(Stream s, string path)
    {
        Span<byte> head = stackalloc byte[12];
        if (s.ReadAtLeast(head, 12, throwOnEndOfStream: false) < 12 || !head[..8].SequenceEqual(ColumnarFormat.Magic))
            throw new InvalidDataException($"{path}: not a columnar (.smlc) file");
        var len = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
        if (len > s.Length - s.Position) throw new InvalidDataException($"{path}: byte offset 8: schema length {len} runs past the end of the file ({s.Length} bytes)");
        var json = new byte[len];
        if (s.ReadAtLeast(json, (int)len, throwOnEndOfStream: false) < len) throw new InvalidDataException($"{path}: truncated header");
        try
        {
            return ColumnarFormat.ParseSchema(json);
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: byte offset 12: not a columnar schema ({e.Message})", e);
        }
    }

    /// <inheritdoc />
    public IEnumerable<RecordBatch> ReadBatches(CancellationToken cancellation = default)
    {
        foreach (var file in _files)
        {
            using var s = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            ReadHeader(s, file);
            var head = new byte[8];
            while (true)
            {
                cancellation.ThrowIfCancellationRequested();
                var offset = s.Position;
                var n = s.ReadAtLeast(head, 8, throwOnEndOfStream: false);
                if (n == 0) break;
                if (n < 8) throw new InvalidDataException($"{file}: truncated frame header at byte offset {offset}");
                var len = BinaryPrimitives.ReadUInt32LittleEndian(head);
                var crc = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(4));
                // A frame is at most what is left of the file: a corrupt length never allocates more than the file holds.
                if (len > s.Length - s.Position) throw new InvalidDataException($"{file}: truncated frame at byte offset {offset} ({len} bytes declared, {s.Length - s.Position} left)");
                var payload = new byte[len];
                if (s.ReadAtLeast(payload, (int)len, throwOnEndOfStream: false) < len) throw new InvalidDataException($"{file}: truncated frame at byte offset {offset}");
                if (Crc32C.Mask(Crc32C.Compute(payload)) != crc) throw new InvalidDataException($"{file}: frame CRC mismatch at byte offset {offset}");
                RecordBatch batch;
                try
                {
                    batch = Decode(payload);
                }
                catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or OverflowException)
                {
                    // Only a frame written wrongly with a valid CRC gets here; still a data error with its place.
                    throw new InvalidDataException($"{file}: frame at byte offset {offset}: corrupt payload ({e.Message})", e);
                }
                yield return batch;
            }
        }
    }

    private RecordBatch Decode(byte[] payload)
    {
        var p = 0;
        int ReadInt()
        {
            var v = BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(p));
            p += 4;
            return v;
        }
        T[] ReadArray<T>(int count)
            where T : struct
        {
            var a = new T[count];
            var bytes = MemoryMarshal.AsBytes(a.AsSpan());
            payload.AsSpan(p, bytes.Length).CopyTo(bytes);
            p += bytes.Length;
            return a;
        }
        var rows = ReadInt();
        var cols = new Column[Schema.Columns.Count];
        for (var c = 0; c < cols.Length; c++)
        {
            var spec = Schema.Columns[c];
            var missing = new bool[rows];
            var bitmap = payload.AsSpan(p, (rows + 7) / 8);
            for (var i = 0; i < rows; i++) missing[i] = (bitmap[i >> 3] & (1 << (i & 7))) != 0;
            p += bitmap.Length;
            switch (spec.Kind)
            {
                case ColumnKind.Int64: cols[c] = new Int64Column(spec, ReadArray<long>(rows), missing, rows); break;
                case ColumnKind.Float64: cols[c] = new Float64Column(spec, ReadArray<double>(rows), missing, rows); break;
                case ColumnKind.Float32Tensor: cols[c] = new Float32TensorColumn(spec, ReadArray<float>(rows * spec.ValuesPerRow), missing, rows); break;
                case ColumnKind.String:
                    var dict = new string[ReadInt()];
                    for (var k = 0; k < dict.Length; k++)
                    {
                        var len = ReadInt();
                        dict[k] = Encoding.UTF8.GetString(payload, p, len);
                        p += len;
                    }
                    cols[c] = new StringColumn(spec, ReadArray<int>(rows), dict, missing, rows);
                    break;
                default:
                    var values = new byte[]?[rows];
                    for (var i = 0; i < rows; i++)
                    {
                        var len = ReadInt();
                        if (len < 0) continue;
                        values[i] = payload.AsSpan(p, len).ToArray();
                        p += len;
                    }
                    cols[c] = new BytesColumn(spec, values, missing, rows);
                    break;
            }
        }
        return new RecordBatch(Schema, cols, rows);
    }
}

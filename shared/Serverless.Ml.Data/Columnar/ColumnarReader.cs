using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Serverless.Ml.Data.TfRecord;

namespace Serverless.Ml.Data.Columnar;

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

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Serverless.Ml.Data.TfRecord;

namespace Serverless.Ml.Data.Columnar;

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

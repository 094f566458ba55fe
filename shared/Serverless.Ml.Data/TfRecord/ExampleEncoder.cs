using System.Buffers.Binary;
using System.Text;
using Serverless.Ml.Data.Protos;

namespace Serverless.Ml.Data.TfRecord;

/// <summary>
/// Serializes rows of a batch straight to tf.Example wire bytes, without building protobuf objects (the hot path
/// of ExampleGen). Features are written in schema order; a missing value omits the feature, which TensorFlow and
/// TFDV read as "feature absent". Float64 values are narrowed to float32 (tf.Example has no double list).
/// The output parses with the protoc-generated <see cref="Example"/>; tests check that.
/// </summary>
public sealed class ExampleEncoder
{
    private readonly RecordBatch _batch;
    private readonly byte[][] _keys;
    private readonly byte[][]?[] _dicts;
    private readonly int[] _listLen;
    private byte[] _buffer = new byte[256];

    /// <summary>Prepares to encode rows of <paramref name="batch"/> (text dictionaries are UTF-8 encoded once).</summary>
    public ExampleEncoder(RecordBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _batch = batch;
        var n = batch.Columns.Count;
        _keys = batch.Schema.Columns.Select(c => Encoding.UTF8.GetBytes(c.Name)).ToArray();
        _dicts = new byte[][]?[n];
        for (var i = 0; i < n; i++)
            if (batch.Columns[i] is StringColumn s) _dicts[i] = s.Dictionary.Select(Encoding.UTF8.GetBytes).ToArray();
        _listLen = new int[n];
    }

    /// <summary>Encodes one row; the span is valid until the next call.</summary>
    public ReadOnlySpan<byte> Encode(int row)
    {
        var cols = _batch.Columns;
        var featuresLen = 0;
        for (var c = 0; c < cols.Count; c++)
        {
            var col = cols[c];
            if (col.Missing[row]) { _listLen[c] = -1; continue; }
            var listLen = col switch
            {
                Int64Column l => 1 + VarintSize((ulong)l.Values[row]) + VarintSize((ulong)VarintSize((ulong)l.Values[row])),
                Float64Column => 1 + 1 + 4,
                Float32TensorColumn t => 1 + VarintSize((ulong)(4 * t.Spec.ValuesPerRow)) + (4 * t.Spec.ValuesPerRow),
                StringColumn s => BytesEntry(_dicts[c]![s.Codes[row]].Length),
                BytesColumn b => BytesEntry(b.Values[row]!.Length),
                _ => throw new NotSupportedException(col.GetType().Name),
            };
            _listLen[c] = listLen;
            var featureLen = 1 + VarintSize((ulong)listLen) + listLen;
            var entryLen = 1 + VarintSize((ulong)_keys[c].Length) + _keys[c].Length + 1 + VarintSize((ulong)featureLen) + featureLen;
            featuresLen += 1 + VarintSize((ulong)entryLen) + entryLen;
        }
        var total = 1 + VarintSize((ulong)featuresLen) + featuresLen;
        if (_buffer.Length < total) _buffer = new byte[Math.Max(total, _buffer.Length * 2)];
        var buf = _buffer.AsSpan();
        var p = 0;
        buf[p++] = 0x0A; // Example.features
        p += WriteVarint(buf[p..], (ulong)featuresLen);
        for (var c = 0; c < cols.Count; c++)
        {
            var listLen = _listLen[c];
            if (listLen < 0) continue;
            var key = _keys[c];
            var featureLen = 1 + VarintSize((ulong)listLen) + listLen;
            var entryLen = 1 + VarintSize((ulong)key.Length) + key.Length + 1 + VarintSize((ulong)featureLen) + featureLen;
            buf[p++] = 0x0A; // Features.feature (map entry)
            p += WriteVarint(buf[p..], (ulong)entryLen);
            buf[p++] = 0x0A; // entry.key
            p += WriteVarint(buf[p..], (ulong)key.Length);
            key.CopyTo(buf[p..]);
            p += key.Length;
            buf[p++] = 0x12; // entry.value
            p += WriteVarint(buf[p..], (ulong)featureLen);
            switch (cols[c])
            {
                case Int64Column l:
                    buf[p++] = 0x1A; // Feature.int64_list
                    p += WriteVarint(buf[p..], (ulong)listLen);
                    buf[p++] = 0x0A; // packed values
                    p += WriteVarint(buf[p..], (ulong)VarintSize((ulong)l.Values[row]));
                    p += WriteVarint(buf[p..], (ulong)l.Values[row]);
                    break;
                case Float64Column d:
                    buf[p++] = 0x12; // Feature.float_list
                    p += WriteVarint(buf[p..], (ulong)listLen);
                    buf[p++] = 0x0A;
                    buf[p++] = 4;
                    BinaryPrimitives.WriteSingleLittleEndian(buf[p..], (float)d.Values[row]);
                    p += 4;
                    break;
                case Float32TensorColumn t:
                    buf[p++] = 0x12;
                    p += WriteVarint(buf[p..], (ulong)listLen);
                    buf[p++] = 0x0A;
                    p += WriteVarint(buf[p..], (ulong)(4 * t.Spec.ValuesPerRow));
                    foreach (var f in t.GetRow(row))
                    {
                        BinaryPrimitives.WriteSingleLittleEndian(buf[p..], f);
                        p += 4;
                    }
                    break;
                case StringColumn s:
                    p += WriteBytesFeature(buf[p..], listLen, _dicts[c]![s.Codes[row]]);
                    break;
                case BytesColumn b:
                    p += WriteBytesFeature(buf[p..], listLen, b.Values[row]!);
                    break;
            }
        }
        return _buffer.AsSpan(0, p);
    }

    /// <summary>Encodes one row into a protobuf object (convenience; slower than <see cref="Encode"/>).</summary>
    public Example ToExample(int row) => Example.Parser.ParseFrom(Encode(row));

    private static int BytesEntry(int len) => 1 + VarintSize((ulong)len) + len;

    private static int WriteBytesFeature(Span<byte> buf, int listLen, byte[] value)
    {
        var p = 0;
        buf[p++] = 0x0A; // Feature.bytes_list
        p += WriteVarint(buf[p..], (ulong)listLen);
        buf[p++] = 0x0A; // BytesList.value
        p += WriteVarint(buf[p..], (ulong)value.Length);
        value.CopyTo(buf[p..]);
        return p + value.Length;
    }

    internal static int VarintSize(ulong v)
    {
        var n = 1;
        while (v >= 0x80) { v >>= 7; n++; }
        return n;
    }

    internal static int WriteVarint(Span<byte> buf, ulong v)
    {
        var n = 0;
        while (v >= 0x80)
        {
            buf[n++] = (byte)(v | 0x80);
            v >>= 7;
        }
        buf[n++] = (byte)v;
        return n;
    }
}

using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Google.Protobuf;
using Serverless.Ml.Data.Protos;
using Serverless.Ml.Data.TfRecord;

namespace Serverless.Ml.Data.Tests;

public sealed class TfRecordTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, uint> CrcVectors() => new()
    {
        { "313233343536373839", 0xE3069283 }, // "123456789"
        { new string('0', 64), 0x8A9136AA },  // 32 zero bytes (RFC 3720 B.4)
        { new string('F', 64), 0x62A8AB43 },  // 32 0xFF bytes
        { string.Concat(Enumerable.Range(0, 32).Select(i => i.ToString("X2", System.Globalization.CultureInfo.InvariantCulture))), 0x46DD794E },
        { string.Concat(Enumerable.Range(0, 32).Reverse().Select(i => i.ToString("X2", System.Globalization.CultureInfo.InvariantCulture))), 0x113FDB5C },
        { string.Empty, 0x00000000 },
    };

    [Theory]
    [MemberData(nameof(CrcVectors))]
    public void Compute_KnownVectors_MatchPublishedCrc32C(string hex, uint expected)
    {
        var data = Convert.FromHexString(hex);
        Assert.Equal(expected, Crc32C.Compute(data));
        Assert.Equal(expected, Crc32C.ComputeSoftware(data));
    }

    [Fact]
    public void Append_RandomSplits_EqualsWholeAndSoftwarePath()
    {
        var rng = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            var data = new byte[rng.Next(0, 2000)];
            rng.NextBytes(data);
            var cut = rng.Next(0, data.Length + 1);
            var whole = Crc32C.Compute(data);
            Assert.Equal(whole, Crc32C.Append(Crc32C.Compute(data.AsSpan(0, cut)), data.AsSpan(cut)));
            Assert.Equal(whole, Crc32C.ComputeSoftware(data));
            Assert.Equal(whole, Crc32C.Unmask(Crc32C.Mask(whole)));
        }
    }

    /// <summary>The framing built by hand from TensorFlow's published format, independent of the writer.</summary>
    private static byte[] HandFrame(params byte[][] records)
    {
        static uint Masked(ReadOnlySpan<byte> b)
        {
            var crc = Crc32C.ComputeSoftware(b);
            return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
        }
        var ms = new MemoryStream();
        foreach (var r in records)
        {
            var len = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)r.Length);
            var c = new byte[4];
            ms.Write(len);
            BinaryPrimitives.WriteUInt32LittleEndian(c, Masked(len));
            ms.Write(c);
            ms.Write(r);
            BinaryPrimitives.WriteUInt32LittleEndian(c, Masked(r));
            ms.Write(c);
        }
        return ms.ToArray();
    }

    [Fact]
    public void Write_HandBuiltVector_ByteIdentical()
    {
        var records = new[] { "abc"u8.ToArray(), Array.Empty<byte>(), Enumerable.Range(0, 300).Select(i => (byte)i).ToArray() };
        var path = _dir.File("v.tfrecord");
        using (var w = TfRecordWriter.Create(path)) foreach (var r in records) w.Write(r);
        var expected = HandFrame(records);
        Assert.Equal(expected, File.ReadAllBytes(path));
        // the first record's header: length 3, little-endian
        Assert.Equal(new byte[] { 3, 0, 0, 0, 0, 0, 0, 0 }, expected[..8]);
        Assert.Equal(records, TfRecordReader.ReadAll(path).ToArray());
    }

    [Fact]
    public void TryRead_CorruptDataCrc_ThrowsWithFileAndOffset()
    {
        var bytes = HandFrame("first"u8.ToArray(), "second"u8.ToArray());
        bytes[16 + 5 + 12 + 2] ^= 0x40; // flip a bit in the second record's data
        var path = _dir.File("bad.tfrecord");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<TfRecordFormatException>(() => TfRecordReader.ReadAll(path).ToList());
        Assert.Equal(21, ex.Offset);
        Assert.Contains("data CRC mismatch", ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryRead_CorruptLengthCrc_Throws()
    {
        var bytes = HandFrame("x"u8.ToArray());
        bytes[0] = 9;
        var path = _dir.File("len.tfrecord");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<TfRecordFormatException>(() => TfRecordReader.ReadAll(path).ToList());
        Assert.Equal(0, ex.Offset);
        Assert.Contains("length CRC", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadAll_RandomTruncations_ThrowNamingRecordOffsetOrEndCleanly()
    {
        var rng = new Random(11);
        var records = Enumerable.Range(0, 5).Select(_ => { var b = new byte[rng.Next(0, 50)]; rng.NextBytes(b); return b; }).ToArray();
        var full = HandFrame(records);
        var boundaries = new List<int> { 0 };
        foreach (var r in records) boundaries.Add(boundaries[^1] + 16 + r.Length);
        var path = _dir.File("t.tfrecord");
        for (var cut = 0; cut <= full.Length; cut++)
        {
            File.WriteAllBytes(path, full[..cut]);
            var k = boundaries.IndexOf(cut);
            if (k >= 0)
            {
                Assert.Equal(records[..k], TfRecordReader.ReadAll(path).ToArray());
                continue;
            }
            var ex = Assert.Throws<TfRecordFormatException>(() => TfRecordReader.ReadAll(path).ToList());
            Assert.Equal(boundaries.Last(b => b < cut), ex.Offset);
            Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void WriteRead_SeededRandomRoundTrips_PlainAndGzip()
    {
        var rng = new Random(1234);
        for (var iter = 0; iter < 60; iter++)
        {
            var gzip = iter % 2 == 1;
            var records = Enumerable.Range(0, rng.Next(0, 40)).Select(_ =>
            {
                var b = new byte[rng.Next(0, rng.Next(2) == 0 ? 16 : 5000)];
                rng.NextBytes(b);
                return b;
            }).ToArray();
            var path = _dir.File($"r{iter}.tfrecord" + (gzip ? ".gz" : string.Empty));
            using (var w = TfRecordWriter.Create(path))
                foreach (var r in records) w.Write(r);
            Assert.Equal(records, TfRecordReader.ReadAll(path).ToArray());
            var raw = gzip ? Gunzip(path) : File.ReadAllBytes(path);
            Assert.Equal(HandFrame(records), raw);
        }
    }

    private static byte[] Gunzip(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        var ms = new MemoryStream();
        gz.CopyTo(ms);
        return ms.ToArray();
    }

    [Fact]
    public void Encode_AllKinds_SameBytesAsProtobufAndParsesBack()
    {
        var schema = new TableSchema([
            new ColumnSpec("i", ColumnKind.Int64), new ColumnSpec("f", ColumnKind.Float64), new ColumnSpec("s", ColumnKind.String),
            new ColumnSpec("b", ColumnKind.Bytes), new ColumnSpec("img", ColumnKind.Float32Tensor, [2, 2]),
        ]);
        var batch = new RecordBatch(schema, [
            new Int64Column(schema.Columns[0], [-5, 300], [false, false], 2),
            new Float64Column(schema.Columns[1], [1.5, 0], [false, true], 2),
            StringColumn.FromValues(schema.Columns[2], ["héllo", "x"]),
            new BytesColumn(schema.Columns[3], [[0, 255], null], [false, true], 2),
            new Float32TensorColumn(schema.Columns[4], [1, 2, 3, 4, 5, 6, 7, 8], [false, false], 2),
        ], 2);
        var enc = new ExampleEncoder(batch);
        var expected = new Example { Features = new Features() };
        expected.Features.Feature["i"] = new Feature { Int64List = new Int64List { Value = { -5 } } };
        expected.Features.Feature["f"] = new Feature { FloatList = new FloatList { Value = { 1.5f } } };
        expected.Features.Feature["s"] = new Feature { BytesList = new BytesList { Value = { ByteString.CopyFromUtf8("héllo") } } };
        expected.Features.Feature["b"] = new Feature { BytesList = new BytesList { Value = { ByteString.CopyFrom(0, 255) } } };
        expected.Features.Feature["img"] = new Feature { FloatList = new FloatList { Value = { 1, 2, 3, 4 } } };
        Assert.Equal(expected.ToByteArray(), enc.Encode(0).ToArray());
        var second = Example.Parser.ParseFrom(enc.Encode(1).ToArray());
        Assert.Equal(["i", "s", "img"], second.Features.Feature.Keys);
        Assert.Equal(300, second.Features.Feature["i"].Int64List.Value[0]);
    }

    [Fact]
    public void TfExampleReader_WrittenBatch_ReadsBackWithInferredSchema()
    {
        var path = _dir.Write("in.csv", "a,b,c\n1,2.5,x\n2,,y\n,3.25,\n");
        var csv = Csv.CsvReader.Open(path);
        var tf = _dir.File("out.tfrecord.gz");
        using (var w = TfRecordWriter.Create(tf))
            foreach (var b in csv.ReadBatches())
            {
                var enc = new ExampleEncoder(b);
                for (var i = 0; i < b.RowCount; i++) w.Write(enc.Encode(i));
            }
        var reader = TfExampleReader.Open([tf]);
        Assert.Equal("a:Int64, b:Float64, c:String", reader.Schema.ToString());
        var batch = Assert.Single(reader.ReadBatches());
        Assert.Equal(3, batch.RowCount);
        Assert.Equal([1L, 2L, null], Enumerable.Range(0, 3).Select(i => batch["a"].GetValue(i)));
        Assert.Equal([2.5, null, 3.25], Enumerable.Range(0, 3).Select(i => batch["b"].GetValue(i)));
        Assert.Equal(["x", "y", null], Enumerable.Range(0, 3).Select(i => batch["c"].GetValue(i)));
    }

    [Fact]
    public void TfExampleReader_FeatureNotInSchema_ThrowsNamingOffset()
    {
        var tf = _dir.File("x.tfrecord");
        var ex = new Example { Features = new Features() };
        ex.Features.Feature["z"] = new Feature { Int64List = new Int64List { Value = { 1 } } };
        using (var w = TfRecordWriter.Create(tf)) { w.Write(ex.ToByteArray()); w.Write(ex.ToByteArray()); }
        var schema = new TableSchema([new ColumnSpec("a", ColumnKind.Int64)]);
        var err = Assert.Throws<TfRecordFormatException>(() => TfExampleReader.Open([tf], new TfExampleReadOptions { Schema = schema }).ReadBatches().ToList());
        Assert.Contains("'z'", err.Message, StringComparison.Ordinal);
        Assert.Equal(0, err.Offset);
        Assert.Contains(Encoding.UTF8.GetString("x.tfrecord"u8), err.Message, StringComparison.Ordinal);
    }
}

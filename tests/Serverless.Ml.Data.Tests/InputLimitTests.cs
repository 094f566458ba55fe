using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Serverless.Ml.Data.Columnar;
using Serverless.Ml.Data.Csv;
using Serverless.Ml.Data.ExampleGen;
using Serverless.Ml.Data.TfRecord;

namespace Serverless.Ml.Data.Tests;

/// <summary>
/// Issue 18 items 10 and 11: bounded reads with settings to raise the bounds, errors that name the file and the line or
/// byte offset and quote at most a prefix, and inputs over 2 GB that stream (no int overflow).
/// </summary>
public sealed class InputLimitTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Open_LineOf100MB_FailsAtTheLimitNamingLineAndOffsetWithAPrefix()
    {
        // A 100 MB line used to be read whole (4.3 GB). Generated on the fly: nothing is stored.
        var reader = () => CsvReader.OpenSource(() => new OneLongLine("a,b\n1,2\n3,", 100L << 20), "long.csv", new CsvReadOptions());

        var e = Assert.Throws<CsvFormatException>(reader);

        Assert.Equal(("long.csv", 3L), (e.Path, e.Line));
        Assert.Contains("byte offset 8", e.Reason, StringComparison.Ordinal);
        Assert.Contains(nameof(CsvReadOptions.MaxRecordBytes), e.Reason, StringComparison.Ordinal);
        Assert.Contains("'3,xxxxxxxx", e.Reason, StringComparison.Ordinal);
        Assert.True(e.Message.Length < 400, $"the error quotes {e.Message.Length} characters");
    }

    [Fact]
    public void Open_LineOverTheLimit_ReadsWhenTheLimitIsRaised()
    {
        var path = _dir.Write("wide.csv", "a,b\n1,2\n3," + new string('x', 5000) + "\n");

        Assert.Throws<CsvFormatException>(() => CsvReader.Open(path, new CsvReadOptions { MaxRecordBytes = 1000 }));
        var r = CsvReader.Open(path, new CsvReadOptions { MaxRecordBytes = 10_000 });
        var rows = r.ReadBatches().Sum(b => b.RowCount);
        Assert.Equal(2, rows);
    }

    [Fact]
    public void Run_SparseFileOf5GB_FailsNamingLineAndOffsetNotAnOverflow()
    {
        // Issue 18 item 11: a 5 GB input failed with ArgumentOutOfRangeException 'newSize' (the buffer doubled past
        // 2 GB). A sparse file: 5 GB long, no disk used, all zero bytes (so one record without a newline).
        var path = _dir.File("in/huge.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var f = new FileStream(path, FileMode.Create)) f.SetLength(5L << 30);

        var e = Assert.Throws<CsvFormatException>(() => ExampleGenCore.Run(new ExampleGenOptions { InputBase = _dir.File("in"), Pattern = "*.csv", OutputDirectory = _dir.File("out") }));

        Assert.Equal((path, 1L), (e.Path, e.Line));
        Assert.Contains("byte offset 0", e.Reason, StringComparison.Ordinal);
        Assert.Contains("\\x00\\x00", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadBatches_RowsOf40KB_BlocksStayBelowTheByteBudget()
    {
        // 65,536 rows of 40 KB (a default batch) are 2.6 GB: more than an int can index. Blocks are cut by bytes too.
        var reader = CsvReader.OpenSource(() => new WideRows(40_000, 1_000_000), "wide.csv", new CsvReadOptions { InferenceSampleRows = 100 });

        var first = reader.ReadBatches().First();

        Assert.InRange(first.RowCount, 100, (CsvSplitter.BlockBytes / 40_000) + 1);
        Assert.Equal("id:Int64, text:String", reader.Schema.ToString());
    }

    [Fact]
    public void TryRead_DeclaredLengthOf1point5GBInASmallGzip_FailsNamingFileAndOffset()
    {
        // A 1.5 MB .gz whose second header declares a 1.5 GB record used to allocate it (1.5 GB).
        var path = _dir.File("huge.tfrecord.gz");
        using (var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest))
        {
            var w = new TfRecordWriter(gz);
            w.Write("first"u8);
            gz.Write(Header(1_500L << 20));
            gz.Write(new byte[1 << 20]);
        }

        var e = Assert.Throws<TfRecordFormatException>(() => TfRecordReader.ReadAll(path).ToList());

        Assert.Equal((path, 21L), (e.Path, e.Offset));
        Assert.Contains(nameof(TfRecordReader.MaxRecordBytes), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryRead_LengthNear2GB_SaysWhereInsteadOfArrayDimensions()
    {
        var path = _dir.File("near2g.tfrecord");
        File.WriteAllBytes(path, [.. Header(int.MaxValue - 5), .. new byte[64]]);

        var e = Assert.Throws<TfRecordFormatException>(() => TfRecordReader.ReadAll(path).ToList());
        Assert.Equal((path, 0L), (e.Path, e.Offset));

        // Raised above a declared 2,000,000,000: the reader allocates only what arrives and reports the truncation.
        File.WriteAllBytes(path, [.. Header(2_000_000_000), .. new byte[64]]);
        using var r = TfRecordReader.Open(path, maxRecordBytes: Array.MaxLength - 4);
        var truncated = Assert.Throws<TfRecordFormatException>(() => r.TryRead(out _));
        Assert.Contains("truncated record", truncated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_RecordThatIsNotAnExample_NamesFileAndOffsetDuringInference()
    {
        var path = _dir.File("junk.tfrecord");
        using (var w = TfRecordWriter.Create(path))
        {
            w.Write(Google.Protobuf.MessageExtensions.ToByteArray(new Protos.Example()));
            w.Write([0xFF, 0xFF, 0xFF, 0xFF]);
        }

        var e = Assert.Throws<TfRecordFormatException>(() => TfExampleReader.Open([path]));
        Assert.Contains($"{path}: TFRecord at byte offset 16: not a tf.Example", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadBatches_ColumnarFrameLengthCorrupt_NamesFileAndOffset()
    {
        var path = _dir.File("x.smlc");
        var schema = new TableSchema([new ColumnSpec("a", ColumnKind.Int64)]);
        using (var w = new ColumnarWriter(path, schema))
        {
            w.Write(new RecordBatch(schema, [new Int64Column(schema.Columns[0], [1, 2], [false, false], 2)], 2));
        }
        var bytes = File.ReadAllBytes(path);
        var frame = 12 + BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(frame), 0xFFFFFFF0);
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<InvalidDataException>(() => new ColumnarReader([path]).ReadBatches().ToList());
        Assert.Contains($"{path}: truncated frame at byte offset {frame}", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A TFRecord header declaring <paramref name="length"/> bytes, with a valid length CRC (so only the length is wrong).</summary>
    internal static byte[] Header(long length)
    {
        var h = new byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(h, (ulong)length);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(8), Crc32C.Mask(Crc32C.Compute(h.AsSpan(0, 8))));
        return h;
    }

    /// <summary>A prefix, then <c>length</c> bytes of 'x' and no newline, produced as it is read.</summary>
    private sealed class OneLongLine(string prefix, long length) : GeneratedStream
    {
        private readonly byte[] _prefix = Encoding.UTF8.GetBytes(prefix);

        protected override int Produce(Span<byte> buffer, long position)
        {
            if (position >= _prefix.Length + length) return 0;
            var n = (int)Math.Min(buffer.Length, _prefix.Length + length - position);
            for (var i = 0; i < n; i++)
            {
                var p = position + i;
                buffer[i] = p < _prefix.Length ? _prefix[p] : (byte)'x';
            }
            return n;
        }
    }

    /// <summary>A header, then rows "i,ttt...t" of <c>width</c> bytes each.</summary>
    private sealed class WideRows(int width, long rows) : GeneratedStream
    {
        private static readonly byte[] HeaderBytes = "id,text\n"u8.ToArray();

        protected override int Produce(Span<byte> buffer, long position)
        {
            var total = HeaderBytes.Length + (rows * width);
            if (position >= total) return 0;
            var n = (int)Math.Min(buffer.Length, total - position);
            for (var i = 0; i < n; i++)
            {
                var p = position + i;
                if (p < HeaderBytes.Length)
                {
                    buffer[i] = HeaderBytes[p];
                    continue;
                }
                var inRow = (p - HeaderBytes.Length) % width;
                buffer[i] = inRow == width - 1 ? (byte)'\n' : inRow == 0 ? (byte)'7' : inRow == 1 ? (byte)',' : (byte)'t';
            }
            return n;
        }
    }
}

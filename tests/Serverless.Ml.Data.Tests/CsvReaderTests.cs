using System.Globalization;
using Serverless.Ml.Data.Csv;

namespace Serverless.Ml.Data.Tests;

public sealed class CsvReaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static List<object?[]> Rows(CsvReader r)
    {
        var rows = new List<object?[]>();
        foreach (var b in r.ReadBatches())
            for (var i = 0; i < b.RowCount; i++) rows.Add(b.Columns.Select(c => c.GetValue(i)).ToArray());
        return rows;
    }

    [Fact]
    public void Open_HeaderAndSample_InfersInt64Float64String()
    {
        var p = _dir.Write("a.csv", "id,x,name,empty\n1,1.5,a,\n2,2,b,\n-3,1e3,c,\n");
        var r = CsvReader.Open(p);
        Assert.Equal("id:Int64, x:Float64, name:String, empty:String", r.Schema.ToString());
        var rows = Rows(r);
        Assert.Equal(3, rows.Count);
        Assert.Equal(new object?[] { -3L, 1000.0, "c", null }, rows[2]);
    }

    [Fact]
    public void ReadBatches_Rfc4180Quoting_DelimiterNewlineAndEscapedQuoteInsideFields()
    {
        var p = _dir.Write("q.csv", "a,b\r\n\"x,y\",\"say \"\"hi\"\"\"\r\n\"multi\nline\",2\r\n");
        var rows = Rows(CsvReader.Open(p));
        Assert.Equal(2, rows.Count);
        Assert.Equal("x,y", rows[0][0]);
        Assert.Equal("say \"hi\"", rows[0][1]);
        Assert.Equal("multi\nline", rows[1][0]);
        Assert.Equal("2", rows[1][1]);
    }

    [Fact]
    public void ReadBatches_CustomDelimiterMissingTokensBomNoTrailingNewline_Parsed()
    {
        var p = _dir.File("s.csv");
        File.WriteAllBytes(p, [0xEF, 0xBB, 0xBF, .. "k;v\n1;NA\n2;3.5\n\n3;-"u8]);
        var r = CsvReader.Open(p, new CsvReadOptions { Delimiter = ';', MissingTokens = ["", "NA", "-"] });
        Assert.Equal("k:Int64, v:Float64", r.Schema.ToString());
        var rows = Rows(r);
        Assert.Equal(3, rows.Count);
        Assert.Null(rows[0][1]);
        Assert.Equal(3.5, rows[1][1]);
        Assert.Null(rows[2][1]);
        Assert.Equal(3L, rows[2][0]);
    }

    [Fact]
    public void ReadBatches_WrongFieldCount_ThrowsNamingFileAndLine()
    {
        var p = _dir.Write("bad.csv", "a,b\n1,2\n\"x\ny\",3\n4\n");
        var ex = Assert.Throws<CsvFormatException>(() => Rows(CsvReader.Open(p)));
        Assert.Equal(p, ex.Path);
        Assert.Equal(5, ex.Line); // the quoted newline makes the short row physical line 5
        Assert.Contains("expected 2 fields, found 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("bad.csv", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadBatches_UnparsableNumberUnderOverride_ThrowsNamingColumn()
    {
        var p = _dir.Write("o.csv", "a,b\n1,x\n");
        var options = new CsvReadOptions { TypeOverrides = new Dictionary<string, ColumnKind> { ["b"] = ColumnKind.Float64 } };
        var ex = Assert.Throws<CsvFormatException>(() => Rows(CsvReader.Open(p, options)));
        Assert.Equal("b", ex.Column);
        Assert.Equal(2, ex.Line);
        Assert.Contains("column 'b'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadBatches_ValueAfterInferenceSampleNotNumeric_Throws()
    {
        var p = _dir.Write("late.csv", "a\n1\n2\nthree\n");
        var ex = Assert.Throws<CsvFormatException>(() => Rows(CsvReader.Open(p, new CsvReadOptions { InferenceSampleRows = 2 })));
        Assert.Equal(4, ex.Line);
        Assert.Contains("Int64", ex.Reason, StringComparison.Ordinal);
    }

    /// <summary>25,000 rows of ints; line <paramref name="line"/> (1-based, header = line 1) holds <paramref name="value"/> in column 'count'.</summary>
    private string LateValueCsv(string name, int line, string value)
    {
        var sb = new System.Text.StringBuilder("id,count,price\n");
        for (var r = 2; r <= 25_001; r++) sb.Append(r).Append(',').Append(r == line ? value : (r % 97).ToString(CultureInfo.InvariantCulture)).Append(',').Append(r * 3).Append('\n');
        return _dir.Write(name, sb.ToString());
    }

    [Theory]
    [InlineData("twelve", ColumnKind.String)]
    [InlineData("12.5", ColumnKind.Float64)]
    [InlineData("1e3", ColumnKind.Float64)]
    [InlineData("NA", ColumnKind.Int64)]
    public void Open_ValueAfterRow20000_WidensTheColumnOverTheWholeInput(string value, ColumnKind expected)
    {
        // Issue 16 item 4: kinds used to come from the first 10,000 rows, and line 20,002 then failed the read.
        var p = LateValueCsv("late.csv", 20_002, value);
        var r = CsvReader.Open(p);
        Assert.Equal($"id:Int64, count:{expected}, price:Int64", r.Schema.ToString());
        var rows = Rows(r);
        Assert.Equal(25_000, rows.Count);
        Assert.Equal(expected switch
        {
            ColumnKind.String => value,
            ColumnKind.Float64 => double.Parse(value, CultureInfo.InvariantCulture),
            _ => null,
        }, rows[20_000][1]);
        Assert.Equal(expected == ColumnKind.String ? "2" : expected == ColumnKind.Float64 ? (object)2.0 : 2L, rows[0][1]);
    }

    [Fact]
    public void Open_ValueAfterRow20000UnderFixedKind_FailsNamingFileLineAndColumn()
    {
        var p = LateValueCsv("fixed.csv", 20_002, "twelve");
        var options = new CsvReadOptions { TypeOverrides = new Dictionary<string, ColumnKind> { ["count"] = ColumnKind.Int64 } };
        var r = CsvReader.Open(p, options);
        Assert.Equal(ColumnKind.Int64, r.Schema.Columns[1].Kind);
        var ex = Assert.Throws<CsvFormatException>(() => Rows(r));
        Assert.Equal((p, 20_002L, "count"), (ex.Path, ex.Line, ex.Column));
    }

    [Fact]
    public void Compute_InferencePassKnowsTheRanges_StatisticsReadTheFileOnceMore()
    {
        // The inference pass records each numeric column's exact range, so the statistics pass counts the standard
        // histograms exactly without a third read: two opens in all.
        var p = LateValueCsv("twice.csv", 30, "7");
        var opens = 0;
        var r = CsvReader.OpenSource(() => { Interlocked.Increment(ref opens); return File.OpenRead(p); }, p, new CsvReadOptions());
        var stats = Statistics.StatisticsBuilder.Compute(r, "all");
        Assert.Equal(3, opens); // the header, the inference pass, the statistics pass
        var price = stats.Find("price")!.NumStats!;
        Assert.False(price.QuantilesExact);
        Assert.Equal(25_000, price.Histograms[0].Buckets.Sum(b => b.SampleCount));
    }

    [Fact]
    public void Compute_BadRowsPastToleranceOnParallelWorkers_ReportsTheFirstInFileOrder()
    {
        // Found by LoaderFuzzTests: with bad rows counted in the order workers finished, the fused pass stopped early
        // and reported line 13 in about 1 run of 8; the first bad row past the tolerance is line 10.
        var bytes = Convert.FromHexString("63300A35273131220A4E614E0A2B330AFF222C310A2D370A0D0A2E80E92EFF0AC30A800AC3A90A4E614E0A227361");
        var options = new CsvReadOptions { BatchSize = 3, Parallelism = 3, MaxBadRows = 3, TypeOverrides = new Dictionary<string, ColumnKind> { ["c0"] = ColumnKind.Int64 } };
        var batch = Assert.Throws<CsvFormatException>(() => Rows(CsvReader.OpenSource(() => new MemoryStream(bytes), "x.csv", options)));
        Assert.Equal(10, batch.Line);
        for (var run = 0; run < 40; run++)
        {
            var fused = Assert.Throws<CsvFormatException>(() => Statistics.StatisticsBuilder.Compute(CsvReader.OpenSource(() => new MemoryStream(bytes), "x.csv", options), "x"));
            Assert.Equal(10, fused.Line);
        }
    }

    [Fact]
    public void ReadAndCompute_BadRowBeforeATooLongRecord_ReportTheBadRowFirst()
    {
        // Found by LoaderFuzzTests: the splitter, reading ahead, hit the too-long record at line 5 and reported it
        // before the bad row at line 3 that the parsers had not reached yet.
        var csv = "a,b\n1,2\n3\n5,5\n4," + new string('x', 500) + "\n";
        var options = new CsvReadOptions { BatchSize = 1, Parallelism = 3, MaxRecordBytes = 100, InferenceSampleRows = 1 };
        var open = () => CsvReader.OpenSource(() => new MemoryStream(System.Text.Encoding.UTF8.GetBytes(csv)), "x.csv", options);

        Assert.Equal(3, Assert.Throws<CsvFormatException>(() => Rows(open())).Line);
        Assert.Equal(3, Assert.Throws<CsvFormatException>(() => Statistics.StatisticsBuilder.Compute(open(), "x")).Line);
        var tolerant = new CsvReadOptions { BatchSize = 1, Parallelism = 3, MaxRecordBytes = 100, InferenceSampleRows = 1, MaxBadRows = 1 };
        var tooLong = Assert.Throws<CsvFormatException>(() => Rows(CsvReader.OpenSource(() => new MemoryStream(System.Text.Encoding.UTF8.GetBytes(csv)), "x.csv", tolerant)));
        Assert.Equal(5, tooLong.Line);
        Assert.Contains(nameof(CsvReadOptions.MaxRecordBytes), tooLong.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadBatches_WithTolerance_SkipsAndCountsBadRows()
    {
        var p = _dir.Write("t.csv", "a,b\n1,2\n3\nx,4\n5,6\n");
        var options = new CsvReadOptions { MaxBadRows = 2, InferenceSampleRows = 1 };
        var r = CsvReader.Open(p, options);
        var rows = Rows(r);
        Assert.Equal(2, rows.Count);
        Assert.Equal(2, r.BadRowCount);
        Assert.Equal([3L, 4L], r.BadRows.Select(b => b.Line));
        Assert.Equal("a", r.BadRows[1].Column);

        var strict = CsvReader.Open(p, new CsvReadOptions { MaxBadRows = 1, InferenceSampleRows = 1 });
        Assert.Throws<CsvFormatException>(() => Rows(strict));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ReadBatches_SmallBatches_StreamAllRowsInOrder(int parallelism)
    {
        var lines = Enumerable.Range(0, 1000).Select(i => $"{i},{i * 0.5},\"c{i % 7}\"");
        var p = _dir.Write("big.csv", "i,f,c\n" + string.Join("\n", lines) + "\n");
        var r = CsvReader.Open(p, new CsvReadOptions { BatchSize = 64, Parallelism = parallelism, InferenceSampleRows = 10 });
        var batches = r.ReadBatches().ToList();
        Assert.Equal(16, batches.Count);
        Assert.All(batches, b => Assert.True(b.RowCount <= 64));
        var ids = batches.SelectMany(b => Enumerable.Range(0, b.RowCount).Select(i => ((Int64Column)b.Columns[0]).Values[i])).ToList();
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), ids);
        Assert.Equal(1000, r.RowCount);
        var sc = (StringColumn)batches[3].Columns[2];
        Assert.Equal("c" + (3 * 64 % 7).ToString(CultureInfo.InvariantCulture), sc.GetString(0));
        Assert.True(sc.Dictionary.Count <= 7);
    }

    [Fact]
    public void TryParseDouble_RandomDecimals_MatchesDoubleParse()
    {
        var rng = new Random(42);
        for (var i = 0; i < 20000; i++)
        {
            var text = (i % 4) switch
            {
                0 => (rng.NextDouble() * Math.Pow(10, rng.Next(-10, 12))).ToString("R", CultureInfo.InvariantCulture),
                1 => rng.Next(-100000, 100000).ToString(CultureInfo.InvariantCulture) + "." + rng.Next(0, 999999).ToString("D6", CultureInfo.InvariantCulture),
                2 => (rng.NextDouble() - 0.5).ToString("E10", CultureInfo.InvariantCulture),
                _ => "0.0000" + rng.Next(1, 99999).ToString(CultureInfo.InvariantCulture),
            };
            Assert.True(Utf8Number.TryParseDouble(System.Text.Encoding.UTF8.GetBytes(text), out var v), text);
            Assert.Equal(double.Parse(text, CultureInfo.InvariantCulture), v);
        }
        Assert.True(Utf8Number.TryParseDouble("NaN"u8, out var nan) && double.IsNaN(nan));
        Assert.True(Utf8Number.TryParseDouble("-inf"u8, out var inf) && double.IsNegativeInfinity(inf));
        Assert.False(Utf8Number.TryParseDouble("1.2.3"u8, out _));
        Assert.False(Utf8Number.TryParseDouble("abc"u8, out _));
    }

    [Fact]
    public void TryParseInt64_Extremes_ParsedOrRejected()
    {
        Assert.True(Utf8Number.TryParseInt64("-9223372036854775808"u8, out var min) && min == long.MinValue);
        Assert.True(Utf8Number.TryParseInt64("9223372036854775807"u8, out var max) && max == long.MaxValue);
        Assert.False(Utf8Number.TryParseInt64("9223372036854775808"u8, out _));
        Assert.False(Utf8Number.TryParseInt64("1.0"u8, out _));
        Assert.False(Utf8Number.TryParseInt64("-"u8, out _));
    }
}

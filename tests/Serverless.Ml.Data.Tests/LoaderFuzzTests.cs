using System.IO.Compression;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;
using Serverless.Ml.Data.Csv;
using Serverless.Ml.Data.Protos;
using Serverless.Ml.Data.Statistics;
using Serverless.Ml.Data.TfRecord;

namespace Serverless.Ml.Data.Tests;

/// <summary>
/// Issue 18: random CSV and TFRecord bytes fed to the loaders (CSV: the batch reader and the fused statistics pass;
/// TFRecord: framing, gzip, tf.Example decoding and schema inference). Each input is either read, or rejected with the
/// loader's own exception naming the place (file and line, or file and byte offset); nothing else escapes, nothing
/// ends the process, and the two CSV paths agree on every input. Inputs are CSV-shaped (quotes, delimiters, newlines,
/// NUL, invalid UTF-8, numbers of every grammar) with random damage, and real TFRecord files with damaged bytes,
/// lengths (with valid length CRCs), truncations and gzip. A failing case prints FsCheck's seed for replay; each
/// property runs a few hundred small cases in seconds.
/// </summary>
public sealed class LoaderFuzzTests : IDisposable
{
    private readonly TempDir _dir = new();
    private int _files;

    public void Dispose() => _dir.Dispose();

    [Property(Arbitrary = new[] { typeof(LoaderArbitraries) }, MaxTest = 300)]
    public void Csv_RandomBytes_BothPathsReadOrNameTheSameLine(CsvCase input)
    {
        var batches = Outcome(() =>
        {
            var reader = CsvReader.OpenSource(() => new MemoryStream(input.Bytes), "fuzz.csv", input.Options());
            return (reader.ReadBatches().Sum(b => (long)b.RowCount), reader.BadRowCount);
        });
        var fused = Outcome(() =>
        {
            var reader = CsvReader.OpenSource(() => new MemoryStream(input.Bytes), "fuzz.csv", input.Options());
            var stats = StatisticsBuilder.Compute(reader, "fuzz");
            Assert.Equal(reader.RowCount, stats.NumExamples);
            foreach (var f in stats.Features.Where(f => f.NumStats is { Histograms.Count: > 0 }))
            {
                var s = f.NumStats!;
                Assert.Equal(s.CommonStats.NumNonMissing - s.NumNan, s.Histograms[0].Buckets.Sum(b => b.SampleCount));
            }
            return (reader.RowCount, reader.BadRowCount);
        });

        Assert.Equal(batches, fused);
    }

    [Property(Arbitrary = new[] { typeof(LoaderArbitraries) }, MaxTest = 200)]
    public void TfRecord_DamagedFiles_ReadOrNameFileAndOffset(TfRecordCase input)
    {
        var path = _dir.File($"fuzz-{Interlocked.Increment(ref _files)}.tfrecord{(input.Gzip ? ".gz" : string.Empty)}");
        File.WriteAllBytes(path, input.Bytes);
        try
        {
            var reader = TfExampleReader.Open([path], new TfExampleReadOptions { BatchSize = input.BatchSize, MaxRecordBytes = input.MaxRecordBytes });
            var rows = reader.ReadBatches().Sum(b => b.RowCount);
            Assert.True(rows >= 0);
        }
        catch (TfRecordFormatException e)
        {
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
            Assert.Contains("byte offset", e.Message, StringComparison.Ordinal);
            Assert.True(e.Message.Length < 2000, $"an error of {e.Message.Length} characters");
        }
    }

    /// <summary>Rows and bad rows read, or the line a <see cref="CsvFormatException"/> names (checked to name the place).</summary>
    private static string Outcome(Func<(long Rows, long Bad)> read)
    {
        try
        {
            var (rows, bad) = read();
            return $"read {rows} rows, {bad} bad";
        }
        catch (CsvFormatException e)
        {
            Assert.StartsWith($"fuzz.csv: line {e.Line}", e.Message, StringComparison.Ordinal);
            Assert.True(e.Line >= 1, e.Message);
            Assert.True(e.Message.Length < 1000, $"an error of {e.Message.Length} characters");
            return $"failed at line {e.Line}";
        }
    }

    /// <summary>A CSV input and the reader options it is read with.</summary>
    public sealed record CsvCase(byte[] Bytes, int BatchSize, int Parallelism, int MaxRecordBytes, long MaxBadRows, long InferenceSampleRows, ColumnKind? FirstColumn)
    {
        public CsvReadOptions Options() => new()
        {
            BatchSize = BatchSize,
            Parallelism = Parallelism,
            MaxRecordBytes = MaxRecordBytes,
            MaxBadRows = MaxBadRows,
            InferenceSampleRows = InferenceSampleRows,
            TypeOverrides = FirstColumn is { } k && HeaderNames().FirstOrDefault() is { } first ? new Dictionary<string, ColumnKind> { [first] = k } : new Dictionary<string, ColumnKind>(),
        };

        /// <summary>The header's first name as the reader will see it (only used to fix a kind; a damaged header just gets none).</summary>
        private IEnumerable<string> HeaderNames()
        {
            var end = Array.IndexOf(Bytes, (byte)'\n');
            var header = Encoding.UTF8.GetString(Bytes, 0, end < 0 ? Bytes.Length : end).TrimStart('\uFEFF');
            var name = header.Split(',')[0].Trim();
            if (name.Length > 0 && !name.Contains('"', StringComparison.Ordinal) && !name.Contains('\r', StringComparison.Ordinal)) yield return name;
        }

        public override string ToString() =>
            $"{Bytes.Length} bytes, batch {BatchSize}, parallelism {Parallelism}, max record {MaxRecordBytes}, max bad {MaxBadRows}, sample {InferenceSampleRows}, first column {FirstColumn}: {Convert.ToHexString(Bytes)}";
    }

    /// <summary>A TFRecord file's bytes and how it is read.</summary>
    public sealed record TfRecordCase(byte[] Bytes, bool Gzip, int BatchSize, int MaxRecordBytes)
    {
        public override string ToString() => $"{Bytes.Length} bytes, gzip {Gzip}, batch {BatchSize}, max record {MaxRecordBytes}: {Convert.ToHexString(Bytes)}";
    }

    /// <summary>Generators of CSV-shaped text and of real, then damaged, TFRecord files.</summary>
    public static class LoaderArbitraries
    {
        private static readonly string[] Fields =
        [
            "1", "-7", "0", "42", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1.5", "-0.25", "1e3", "1E-300",
            "1e999", "NaN", "nan", "inf", "-Infinity", "+3", " 7 ", "0x10", "1,5", "", "NA", "N/A", "null", "NULL", "a", "b", "text",
            "\"q\"", "\"a,b\"", "\"say \"\"hi\"\"\"", "\"multi\nline\"", "\"unterminated", "x\"y", "\"\"", "5'11\"", "\t", "é", "日本",
            "\0", "a\0b", "\r", "12345678901234567890123",
        ];

        public static Arbitrary<CsvCase> Csv()
        {
            var field = Gen.Frequency(
                (8, Gen.Elements(Fields).Select(f => Encoding.UTF8.GetBytes(f))),
                (1, Gen.ArrayOf(Gen.Elements<byte>(0x00, 0xFF, 0xE9, 0xC3, 0x80, (byte)'"', (byte)',', (byte)'\n', (byte)'\r', (byte)'1', (byte)'.', (byte)'-', (byte)'e'))));
            var row = Gen.Choose(0, 5).SelectMany(n => Gen.ListOf(field, n)).Select(fs => Join(fs, ","u8.ToArray()));
            var text = Gen.Choose(1, 4).SelectMany(columns =>
                Gen.Choose(0, 40).SelectMany(rows => Gen.ListOf(
                    Gen.Frequency((6, Gen.ListOf(field, columns).Select(fs => Join(fs, ","u8.ToArray()))), (1, row)), rows))
                .Select(rs => Encoding.UTF8.GetBytes(string.Join(",", Enumerable.Range(0, columns).Select(c => $"c{c}")) + "\n")
                    .Concat(Join(rs, "\n"u8.ToArray())).ToArray()));
            var damaged = text.SelectMany(b => Gen.Frequency(
                (3, Gen.Constant(b)),
                (1, Gen.ListOf(Gen.Zip(Gen.Choose(0, b.Length), Gen.Elements<byte>(0, 0xFF, (byte)'"', (byte)',', (byte)'\n', (byte)'\r', 0xEF, 0xBB, 0xBF), (at, v) => (at, v)), 3)
                    .Select(edits =>
                    {
                        var list = b.ToList();
                        foreach (var (at, v) in edits.OrderByDescending(e => e.at)) list.Insert(Math.Min(at, list.Count), v);
                        return list.ToArray();
                    })),
                (1, Gen.Choose(0, b.Length).Select(cut => b[..cut]))));
            var options = Gen.Zip(
                Gen.Elements(1, 2, 3, 7, 65_536),
                Gen.Elements(1, 2, 3),
                (batch, parallel) => (batch, parallel)).SelectMany(bp => Gen.Zip(
                    Gen.Elements(4, 16, 64, 16 << 20),
                    Gen.Elements(0L, 1L, 3L),
                    (maxRecord, maxBad) => (bp.batch, bp.parallel, maxRecord, maxBad)));
            return damaged.SelectMany(bytes => options.SelectMany(o =>
                Gen.Zip(Gen.Elements(0L, 1L, 5L, long.MaxValue), Gen.Elements<ColumnKind?>(null, null, ColumnKind.Int64, ColumnKind.Float64, ColumnKind.String, ColumnKind.Bytes), (sample, kind) => (sample, kind))
                    .Select(sk => new CsvCase(bytes, o.batch, o.parallel, o.maxRecord, o.maxBad, sk.sample, sk.kind)))).ToArbitrary();
        }

        public static Arbitrary<TfRecordCase> TfRecord()
        {
            var feature = Gen.OneOf(
                Gen.ArrayOf(Gen.Choose(-1000, 1000).Select(i => (long)i)).Select(v => new Feature { Int64List = new Int64List { Value = { v } } }),
                Gen.ArrayOf(Gen.Choose(-1000, 1000).Select(i => i / 7f)).Select(v => new Feature { FloatList = new FloatList { Value = { v } } }),
                Gen.ArrayOf(Gen.Elements("a", "b", "é", "\0", "long text")).Select(v => new Feature { BytesList = new BytesList { Value = { v.Select(ByteString.CopyFromUtf8) } } }),
                Gen.Constant(new Feature { BytesList = new BytesList { Value = { ByteString.CopyFrom(0xFF, 0xFE) } } }),
                Gen.Constant(new Feature()));
            var example = Gen.Choose(0, 4).SelectMany(n => Gen.ListOf(Gen.Zip(Gen.Elements("x", "y", "z", "w", "\u0001"), feature, (name, f) => (name, f)), n))
                .Select(fs =>
                {
                    var e = new Example { Features = new Features() };
                    foreach (var (name, f) in fs) e.Features.Feature[name] = f;
                    return e.ToByteArray();
                });
            var records = Gen.Choose(0, 12).SelectMany(n => Gen.ListOf(Gen.Frequency((9, example), (1, Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)))), n));
            var framed = records.Select(rs =>
            {
                using var ms = new MemoryStream();
                using (var w = new TfRecordWriter(ms)) foreach (var r in rs) w.Write(r);
                return ms.ToArray();
            });
            var damaged = framed.SelectMany(b => Gen.Frequency(
                (3, Gen.Constant(b)),
                (1, Gen.ListOf(Gen.Zip(Gen.Choose(0, Math.Max(0, b.Length - 1)), Gen.Choose(0, 255), (at, v) => (at, v)), 3).Select(edits =>
                {
                    var c = (byte[])b.Clone();
                    foreach (var (at, v) in edits) if (at < c.Length) c[at] = (byte)v;
                    return c;
                })),
                (1, Gen.Choose(0, b.Length).Select(cut => b[..cut])),
                (1, Gen.Elements(0L, 17L, 1L << 20, 1_500L << 20, int.MaxValue - 5L, long.MaxValue).Select(length => b.Concat(InputLimitTests.Header(length)).Concat(new byte[] { 1, 2, 3 }).ToArray())),
                (1, Gen.ArrayOf(Gen.Choose(0, 255).Select(x => (byte)x)))));
            return damaged.SelectMany(bytes => Gen.Zip(Gen.Elements(false, false, true), Gen.Elements(1, 2, 8), (gzip, batch) => (gzip, batch))
                .SelectMany(gb => Gen.Elements(16, 1 << 20, TfRecordReader.DefaultMaxRecordBytes).Select(max =>
                    new TfRecordCase(gb.gzip ? Gzip(bytes) : bytes, gb.gzip, gb.batch, max)))).ToArbitrary();
        }

        private static byte[] Gzip(byte[] bytes)
        {
            using var ms = new MemoryStream();
            using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(bytes);
            var result = ms.ToArray();
            // Now and then the compressed stream itself is damaged.
            if (bytes.Length % 5 == 1 && result.Length > 12) result[result.Length / 2] ^= 0x5A;
            return result;
        }

        private static byte[] Join(IEnumerable<byte[]> parts, byte[] separator)
        {
            using var ms = new MemoryStream();
            var first = true;
            foreach (var p in parts)
            {
                if (!first) ms.Write(separator);
                ms.Write(p);
                first = false;
            }
            return ms.ToArray();
        }
    }
}

using System.Globalization;
using System.Text;
using Serverless.Ml.Data.Columnar;
using Serverless.Ml.Data.ExampleGen;
using Serverless.Ml.Data.TfRecord;

namespace Serverless.Ml.Data.Tests;

public sealed class ExampleGenTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string WriteCsv(string rel, int rows, int seed = 0)
    {
        var sb = new StringBuilder("id,x,user,city\n");
        for (var i = 0; i < rows; i++)
            sb.Append(CultureInfo.InvariantCulture, $"{i + seed},{(i * 0.25).ToString(CultureInfo.InvariantCulture)},u{i % 50},{(i % 7 == 0 ? string.Empty : "c" + (i % 3).ToString(CultureInfo.InvariantCulture))}\n");
        return _dir.Write(Path.Combine("in", rel), sb.ToString());
    }

    private ExampleGenOptions Options(string pattern, string outName = "out") => new()
    {
        InputBase = _dir.File("in"),
        OutputDirectory = _dir.File(outName),
        Pattern = pattern,
    };

    private static List<object?[]> ReadAll(IRecordBatchReader r) =>
        r.ReadBatches().SelectMany(b => Enumerable.Range(0, b.RowCount).Select(i => b.Columns.Select(c => c.GetValue(i)).ToArray())).ToList();

    [Fact]
    public void Run_CsvDefaultSplit_TwoToOneAndDeterministic()
    {
        WriteCsv("data.csv", 3000);
        var a = ExampleGenCore.Run(Options("*.csv", "a"));
        var b = ExampleGenCore.Run(Options("*.csv", "b"));
        Assert.Equal(3000, a.TotalRows);
        Assert.Equal(["train", "eval"], a.Splits.Select(s => s.Name));
        Assert.InRange(a.Splits[0].Rows, 1850, 2150);
        Assert.Equal(3000 - a.Splits[0].Rows, a.Splits[1].Rows);
        Assert.EndsWith(Path.Combine("Split-train", "data_tfrecord-00000-of-00001.gz"), a.Splits[0].TfRecordFiles[0], StringComparison.Ordinal);
        for (var s = 0; s < 2; s++)
        {
            Assert.Equal(File.ReadAllBytes(a.Splits[s].ColumnarFiles[0]), File.ReadAllBytes(b.Splits[s].ColumnarFiles[0]));
            Assert.Equal(TfRecordReader.ReadAll(a.Splits[s].TfRecordFiles[0]), TfRecordReader.ReadAll(b.Splits[s].TfRecordFiles[0]));
        }
    }

    [Fact]
    public void Run_TfRecordAndColumnar_HoldSameRowsAsInput()
    {
        var csv = WriteCsv("data.csv", 500);
        var result = ExampleGenCore.Run(Options("data.csv"));
        var input = ReadAll(Csv.CsvReader.Open(csv));
        var fromTf = result.Splits.SelectMany(s => ReadAll(TfExampleReader.Open(s.TfRecordFiles, new TfExampleReadOptions { Schema = result.Schema }))).ToList();
        var fromCol = result.Splits.SelectMany(s => ReadAll(new ColumnarReader(s.ColumnarFiles))).ToList();
        static string Key(object?[] r) => string.Join('|', r.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)));
        Assert.Equal(input.Select(Key).Order(), fromCol.Select(Key).Order());
        Assert.Equal(input.Select(Key).Order(), fromTf.Select(Key).Order()); // 0.25 steps are exact in float32
    }

    [Fact]
    public void Run_PartitionFeature_EqualKeysStayTogether()
    {
        WriteCsv("data.csv", 2000);
        var o = Options("data.csv");
        o.PartitionFeature = "user";
        o.OutputSplits = [new SplitSpec("a", 1), new SplitSpec("b", 1), new SplitSpec("c", 1)];
        var result = ExampleGenCore.Run(o);
        var usersPerSplit = result.Splits.Select(s => ReadAll(new ColumnarReader(s.ColumnarFiles)).Select(r => (string)r[2]!).ToHashSet()).ToList();
        Assert.Equal(50, usersPerSplit.Sum(u => u.Count)); // each user in exactly one split
        Assert.All(usersPerSplit, u => Assert.NotEmpty(u));
    }

    [Fact]
    public void Run_SpanAndVersion_LatestByDefaultOrRequested()
    {
        WriteCsv("span-1/v-1/a.csv", 10);
        WriteCsv("span-2/v-1/a.csv", 20);
        WriteCsv("span-2/v-3/a.csv", 30);
        WriteCsv("span-2/v-3/b.csv", 5, seed: 100);
        WriteCsv("span-10/x.txt", 1);
        var latest = ExampleGenCore.Run(Options("span-{SPAN}/v-{VERSION}/*.csv", "o1"));
        Assert.Equal(2, latest.Span);
        Assert.Equal(3, latest.Version);
        Assert.Equal(35, latest.TotalRows);
        Assert.Equal(2, latest.InputFiles.Count);
        var o = Options("span-{SPAN}/v-{VERSION}/*.csv", "o2");
        o.Span = 1;
        var first = ExampleGenCore.Run(o);
        Assert.Equal(10, first.TotalRows);
        Assert.Equal(1, first.Version);
    }

    [Fact]
    public void Run_PreSplitByPattern_NoHashing()
    {
        WriteCsv("train/part-0.csv", 40);
        WriteCsv("train/part-1.csv", 40, seed: 40);
        WriteCsv("eval/part-0.csv", 15);
        var o = Options("unused");
        o.InputSplits = [new InputSplit("train", "train/*.csv"), new InputSplit("eval", "eval/*.csv")];
        var r = ExampleGenCore.Run(o);
        Assert.Equal([80L, 15L], r.Splits.Select(s => s.Rows));
        Assert.Equal(3, r.InputFiles.Count);
    }

    [Fact]
    public void Run_KindsDifferBetweenFilesAndSplits_WidenedOverTheWholeInput()
    {
        // One input of two files: ints in the first, a decimal and a text value in the second. Kinds used to be
        // pinned from the first file, so the second failed to read.
        _dir.Write("in/a.csv", "n,t\n1,10\n2,20\n");
        _dir.Write("in/b.csv", "n,t\n2.5,x\n4,40\n");
        var result = ExampleGenCore.Run(Options("*.csv"));
        Assert.Equal("n:Float64, t:String", result.Schema.ToString());
        Assert.Equal(4, result.TotalRows);

        // Pre-split: the eval split's text widens the train split's column too.
        _dir.Write("in/train/x.csv", "n,t\n1,10\n");
        _dir.Write("in/eval/x.csv", "n,t\n2,twenty\n");
        var pre = ExampleGenCore.Run(new ExampleGenOptions
        {
            InputBase = _dir.File("in"),
            OutputDirectory = _dir.File("pre"),
            InputSplits = [new InputSplit("train", "train/*.csv"), new InputSplit("eval", "eval/*.csv")],
        });
        Assert.Equal("n:Int64, t:String", pre.Schema.ToString());
        var train = ReadAll(new ColumnarReader(pre.Splits[0].ColumnarFiles));
        Assert.Equal(new object?[] { 1L, "10" }, train.Single());
    }

    [Fact]
    public void Run_EmptyInput_Throws()
    {
        _dir.Write("in/empty.csv", "a,b\n");
        var ex = Assert.Throws<InvalidDataException>(() => ExampleGenCore.Run(Options("empty.csv")));
        Assert.Contains("input is empty", ex.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => ExampleGenCore.Run(Options("nothing-*.csv")));
    }

    [Fact]
    public void Run_RowsPerShard_ShardsNamedOfN()
    {
        WriteCsv("data.csv", 100);
        var o = Options("data.csv");
        o.RowsPerShard = 30;
        o.OutputSplits = [new SplitSpec("all", 1)];
        o.Csv.BatchSize = 17;
        var r = ExampleGenCore.Run(o);
        var split = Assert.Single(r.Splits);
        Assert.Equal(4, split.TfRecordFiles.Count);
        Assert.EndsWith("data_tfrecord-00003-of-00004.gz", split.TfRecordFiles[3], StringComparison.Ordinal);
        Assert.Equal([30, 30, 30, 10], split.TfRecordFiles.Select(f => TfRecordReader.ReadAll(f).Count()));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (object?)(long)i), ReadAll(new ColumnarReader(split.ColumnarFiles)).Select(row => row[0]));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(split.TfRecordFiles[0])!, "*partial*"));
    }

    [Fact]
    public void Run_IdxInput_TensorFeatureInTfRecord()
    {
        Directory.CreateDirectory(_dir.File("in"));
        var sub = new TempDir();
        try
        {
            var (images, labels) = IdxTests.MakeTiny(sub, 12, gzip: true);
            File.Copy(images, _dir.File("in/train-images-idx3-ubyte.gz"));
            File.Copy(labels, _dir.File("in/train-labels-idx1-ubyte.gz"));
        }
        finally
        {
            sub.Dispose();
        }
        var o = Options("*-images-idx3-ubyte.gz");
        o.Format = InputFormat.Idx;
        o.LabelsPattern = "*-labels-idx1-ubyte.gz";
        var r = ExampleGenCore.Run(o);
        Assert.Equal(12, r.TotalRows);
        Assert.Equal("image:Float32Tensor[2x3], label:Int64", r.Schema.ToString());
        var ex = Protos.Example.Parser.ParseFrom(TfRecordReader.ReadAll(r.Splits[0].TfRecordFiles[0]).First());
        Assert.Equal(6, ex.Features.Feature["image"].FloatList.Value.Count);
    }

    [Fact]
    public void Run_TfRecordInput_ReadsExamples()
    {
        WriteCsv("data.csv", 60);
        var first = ExampleGenCore.Run(Options("data.csv", "gen1"));
        var tfDir = _dir.File("in/tf");
        Directory.CreateDirectory(tfDir);
        foreach (var f in first.Splits.SelectMany(s => s.TfRecordFiles)) File.Copy(f, Path.Combine(tfDir, Path.GetFileName(Path.GetDirectoryName(f)) + ".gz"));
        var o = Options("tf/*.gz", "gen2");
        o.Format = InputFormat.TfRecord;
        var second = ExampleGenCore.Run(o);
        Assert.Equal(60, second.TotalRows);
        Assert.Equal(first.Schema, second.Schema);
    }
}

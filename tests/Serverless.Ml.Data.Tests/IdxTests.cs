using Serverless.Ml.Data.Idx;

namespace Serverless.Ml.Data.Tests;

public sealed class IdxTests : IDisposable
{
    public const string FashionMnistDir = "/usr/share/datasets/fashion-mnist";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Writes n tiny 2x3 images whose pixel k of item i is (i * 10 + k), labels i % 3.</summary>
    public static (string Images, string Labels) MakeTiny(TempDir dir, int n, bool gzip)
    {
        var ext = gzip ? ".gz" : string.Empty;
        var pixels = new byte[n * 6];
        for (var i = 0; i < n; i++) for (var k = 0; k < 6; k++) pixels[(i * 6) + k] = (byte)((i * 10) + k);
        var images = dir.File($"images-idx3-ubyte{ext}");
        var labels = dir.File($"labels-idx1-ubyte{ext}");
        IdxWriter.WriteUInt8(images, [n, 2, 3], pixels);
        IdxWriter.WriteUInt8(labels, [n], Enumerable.Range(0, n).Select(i => (byte)(i % 3)).ToArray());
        return (images, labels);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Open_GeneratedFile_HeaderAndBigEndianDimensions(bool gzip)
    {
        var (images, _) = MakeTiny(_dir, 5, gzip);
        if (!gzip)
        {
            var raw = File.ReadAllBytes(images);
            Assert.Equal(new byte[] { 0, 0, 0x08, 3, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 3 }, raw[..16]);
        }
        using var r = IdxReader.Open(images);
        Assert.Equal(IdxDataType.UInt8, r.Header.DataType);
        Assert.Equal([5, 2, 3], r.Header.Dimensions);
        Assert.Equal([2, 3], r.Header.ItemShape);
        var item = new float[6];
        Assert.True(r.TryReadItem(item));
        Assert.True(r.TryReadItem(item));
        Assert.Equal([10f, 11, 12, 13, 14, 15], item);
    }

    [Fact]
    public void ReadBatches_ImagesAndLabels_TensorAndInt64ColumnsInBatches()
    {
        var (images, labels) = MakeTiny(_dir, 7, gzip: true);
        var reader = new IdxDatasetReader(images, labels, new IdxDatasetOptions { BatchSize = 3, Scale = 255f });
        Assert.Equal("image:Float32Tensor[2x3], label:Int64", reader.Schema.ToString());
        var batches = reader.ReadBatches().ToList();
        Assert.Equal([3, 3, 1], batches.Select(b => b.RowCount));
        var last = batches[2];
        Assert.Equal(0L, last["label"].GetValue(0)); // item 6 -> 6 % 3
        var img = (Float32TensorColumn)last["image"];
        Assert.Equal(60f / 255f, img.GetRow(0)[0], 6);
    }

    [Fact]
    public void Open_BadMagic_ThrowsInvalidData()
    {
        var p = _dir.File("x.idx");
        File.WriteAllBytes(p, [1, 2, 3, 4, 5]);
        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Open(p));
        Assert.Contains("not an IDX file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryReadItem_TruncatedFile_ThrowsNamingItem()
    {
        var (images, _) = MakeTiny(_dir, 3, gzip: false);
        var bytes = File.ReadAllBytes(images);
        File.WriteAllBytes(images, bytes[..^2]);
        using var r = IdxReader.Open(images);
        var item = new float[6];
        r.TryReadItem(item);
        r.TryReadItem(item);
        var ex = Assert.Throws<InvalidDataException>(() => r.TryReadItem(item));
        Assert.Contains("item 2 of 3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IdxDatasetReader_CountMismatch_Throws()
    {
        var (images, _) = MakeTiny(_dir, 3, gzip: false);
        var labels = _dir.File("l.idx");
        IdxWriter.WriteUInt8(labels, [2], [0, 1]);
        Assert.Throws<InvalidDataException>(() => new IdxDatasetReader(images, labels));
    }

    /// <summary>Integration test on the real Fashion-MNIST files from Debian's package; fails loudly if absent.</summary>
    public static string RequireFashionMnist(string file)
    {
        var p = Path.Combine(FashionMnistDir, file);
        if (!File.Exists(p))
            Assert.Fail($"Fashion-MNIST file {p} is missing. Install it with: apt-get update && apt-get install -y dataset-fashion-mnist (./build.sh test does this).");
        return p;
    }

    [Fact]
    public void FashionMnist_RealFiles_60000TrainAnd10000TestBalancedLabels()
    {
        var trainLabels = IdxReader.ReadAllBytes(RequireFashionMnist("train-labels-idx1-ubyte.gz"));
        Assert.Equal([60000], trainLabels.Header.Dimensions);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(6000, trainLabels.Data.Count(b => b == c)));
        using (var trainImages = IdxReader.Open(RequireFashionMnist("train-images-idx3-ubyte.gz")))
            Assert.Equal([60000, 28, 28], trainImages.Header.Dimensions);
        var test = new IdxDatasetReader(RequireFashionMnist("t10k-images-idx3-ubyte.gz"), RequireFashionMnist("t10k-labels-idx1-ubyte.gz"));
        Assert.Equal("image:Float32Tensor[28x28], label:Int64", test.Schema.ToString());
        long rows = 0;
        double max = 0;
        foreach (var b in test.ReadBatches())
        {
            rows += b.RowCount;
            max = Math.Max(max, ((Float32TensorColumn)b["image"]).Values.Max());
        }
        Assert.Equal(10000, rows);
        Assert.Equal(255, max);
    }
}

using System.Buffers.Text;
using Xunit.Abstractions;
using Serverless.Ml.Data.Csv;
using Serverless.Ml.Data.Statistics;

namespace Serverless.Ml.Data.Tests;

/// <summary>Runs alone: it samples the process's managed heap, which parallel tests would disturb.</summary>
[CollectionDefinition(nameof(BoundedMemoryCollection), DisableParallelization = true)]
public sealed class BoundedMemoryCollection;

/// <summary>
/// Scaled-down proof that statistics of a huge CSV run in bounded memory: the CSV is generated on the fly (never
/// stored), 32 MB then 320 MB, including a column whose distinct values grow with the input (an id), and the peak live
/// managed heap (sampled every 100 ms after a full collection, so garbage awaiting collection does not count) must
/// stay flat as the input grows tenfold.
/// </summary>
[Collection(nameof(BoundedMemoryCollection))]
public sealed class BoundedMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void Compute_InputGrowsTenfold_PeakHeapStaysFlat()
    {
        var (smallPeak, smallRows) = PeakHeapOfStatistics(32L << 20);
        var (largePeak, largeRows) = PeakHeapOfStatistics(320L << 20);
        output.WriteLine($"peak managed heap: {smallPeak >> 20} MB for 32 MB of CSV ({smallRows} rows), {largePeak >> 20} MB for 320 MB ({largeRows} rows)");
        Assert.True(largeRows > 9 * smallRows, $"rows {smallRows} -> {largeRows}");
        // Flat: tenfold input, at most 1.5x the live heap plus 16 MB; and far below the 1 GB budget.
        Assert.True(largePeak < (smallPeak * 1.5) + (16L << 20), $"peak heap {smallPeak >> 20} MB at 32 MB input, {largePeak >> 20} MB at 320 MB");
        Assert.True(largePeak < 512L << 20, $"peak heap {largePeak >> 20} MB");
    }

    private static (long PeakBytes, long Rows) PeakHeapOfStatistics(long bytes)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long peak = GC.GetTotalMemory(forceFullCollection: true);
        using var done = new ManualResetEventSlim();
        var sampler = new Thread(() =>
        {
            while (!done.Wait(100)) peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true));
        });
        sampler.Start();
        var reader = CsvReader.OpenSource(() => new GeneratedCsv(bytes), "generated.csv", new CsvReadOptions { Parallelism = 2 });
        var stats = StatisticsBuilder.Compute(reader, "big");
        done.Set();
        sampler.Join();
        
        Assert.Equal(reader.RowCount, stats.NumExamples);
        var id = stats.Features.Single(f => f.Name == "id").StringStats!;
        Assert.True(id.UniqueIsEstimate);
        Assert.InRange(id.Unique, stats.NumExamples * 0.97, stats.NumExamples * 1.03);
        var x = stats.Features.Single(f => f.Name == "x").NumStats!;
        Assert.InRange(x.Median, 450, 550);
        return (peak, stats.NumExamples);
    }

    /// <summary>A read-only stream of deterministic CSV text: header, then rows until about <c>bytes</c> bytes.</summary>
    private sealed class GeneratedCsv(long bytes) : GeneratedStream
    {
        private readonly byte[] _row = new byte[128];
        private readonly Random _rng = new(11);
        private long _rowIndex;
        private int _pending;
        private int _pendingOffset;
        private bool _header;

        protected override int Produce(Span<byte> buffer, long position)
        {
            var written = 0;
            while (written < buffer.Length)
            {
                if (_pending == 0 && !NextRow(position + written)) break;
                var n = Math.Min(_pending, buffer.Length - written);
                _row.AsSpan(_pendingOffset, n).CopyTo(buffer[written..]);
                _pendingOffset += n;
                _pending -= n;
                written += n;
            }
            return written;
        }

        private bool NextRow(long produced)
        {
            _pendingOffset = 0;
            if (!_header)
            {
                _header = true;
                "n,x,cat,id\n"u8.CopyTo(_row);
                _pending = 11;
                return true;
            }
            if (produced >= bytes) return false;
            var s = _row.AsSpan();
            var p = 0;
            if (_rng.Next(50) != 0) { Utf8Formatter.TryFormat(_rng.Next(-1000, 1_000_000), s[p..], out var w); p += w; }
            s[p++] = (byte)',';
            if (_rng.Next(50) != 0) { Utf8Formatter.TryFormat(Math.Round(_rng.NextDouble() * 1000, 3), s[p..], out var w); p += w; }
            s[p++] = (byte)',';
            "cat"u8.CopyTo(s[p..]);
            p += 3;
            s[p++] = (byte)('0' + _rng.Next(10));
            s[p++] = (byte)',';
            "id"u8.CopyTo(s[p..]);
            p += 2;
            Utf8Formatter.TryFormat(_rowIndex++, s[p..], out var iw);
            p += iw;
            s[p++] = (byte)'\n';
            _pending = p;
            return true;
        }
    }
}

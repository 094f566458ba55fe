using System.Buffers.Binary;
using System.IO.Compression;

namespace Serverless.Ml.Data.Idx;

/// <summary>Writes IDX files; used to make small test fixtures and to export data to MNIST-style tools.</summary>
public static class IdxWriter
{
    /// <summary>Writes a uint8 IDX file (gzip when the name ends in <c>.gz</c>).</summary>
    public static void WriteUInt8(string path, IReadOnlyList<int> dimensions, ReadOnlySpan<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(dimensions);
        if (dimensions.Count is 0 or > 255) throw new ArgumentException("1 to 255 dimensions", nameof(dimensions));
        var total = dimensions.Aggregate(1L, (a, b) => a * b);
        if (total != data.Length) throw new ArgumentException($"data has {data.Length} bytes, dimensions need {total}", nameof(data));
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
        using Stream s = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(fs, CompressionLevel.Fastest) : fs;
        s.Write([0, 0, (byte)IdxDataType.UInt8, (byte)dimensions.Count]);
        Span<byte> d = stackalloc byte[4];
        foreach (var dim in dimensions)
        {
            BinaryPrimitives.WriteInt32BigEndian(d, dim);
            s.Write(d);
        }
        s.Write(data);
    }
}

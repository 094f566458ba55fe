using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Serverless.Ml.Transform;

/// <summary>
/// The hashes behind hash buckets, OOV buckets and hashed crosses. Both are fixed forever (changing them would
/// move every hashed value of a deployed model):
/// <list type="bullet">
/// <item><b>Int64</b>: the Carter-Wegman universal hash <c>h(x) = ((A * (x mod P) + B) mod P)</c> with
/// P = 2^31 - 1, A = 48271, B = 11, and <c>mod</c> the floor modulo (result in [0, P)). Every intermediate stays
/// below 2^62, so ONNX's int64 Mul/Add/Mod (fmod = 0) compute exactly the same numbers inside ONNX Runtime.</item>
/// <item><b>String</b>: MurmurHash3 x86 32-bit (seed 0) of the UTF-8 bytes, taken as unsigned: the hash ONNX Runtime's
/// contrib op <c>com.microsoft::MurmurHash3</c> computes, so the serving graph hashes strings it never saw at fit
/// time exactly as this class does (standard ONNX has no operator that turns a string into bytes or a number).</item>
/// </list>
/// </summary>
public static class StableHash
{
    /// <summary>The Mersenne prime 2^31 - 1.</summary>
    public const long Prime = 2147483647L;

    /// <summary>Multiplier (the MINSTD constant).</summary>
    public const long Multiplier = 48271L;

    /// <summary>Offset.</summary>
    public const long Offset = 11L;

    /// <summary>The int64 hash, in [0, 2^31 - 1).</summary>
    public static long Int64(long x)
    {
        var r = x % Prime;
        if (r < 0) r += Prime;
        return (Multiplier * r + Offset) % Prime;
    }

    /// <summary>The bucket of an int64 value: <c>Int64(x) mod buckets</c>.</summary>
    public static long Int64Bucket(long x, long buckets)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(buckets);
        return Int64(x) % buckets;
    }

    /// <summary>MurmurHash3 x86 32-bit (seed 0) of the UTF-8 bytes.</summary>
    public static uint String(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var max = Encoding.UTF8.GetMaxByteCount(s.Length);
        Span<byte> buffer = max <= 1024 ? stackalloc byte[max] : new byte[max];
        var n = Encoding.UTF8.GetBytes(s, buffer);
        return Murmur3(buffer[..n], 0);
    }

    /// <summary>MurmurHash3 x86 32-bit (Austin Appleby's public-domain algorithm) of <paramref name="data"/>.</summary>
    public static uint Murmur3(ReadOnlySpan<byte> data, uint seed)
    {
        const uint c1 = 0xCC9E2D51, c2 = 0x1B873593;
        var h = seed;
        var blocks = data.Length / 4;
        for (var i = 0; i < blocks; i++)
        {
            var k = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i * 4, 4));
            h ^= uint.RotateLeft(k * c1, 15) * c2;
            h = uint.RotateLeft(h, 13) * 5 + 0xE6546B64;
        }
        var tail = data[(blocks * 4)..];
        uint t = 0;
        for (var i = tail.Length - 1; i >= 0; i--) t = (t << 8) | tail[i];
        if (tail.Length > 0) h ^= uint.RotateLeft(t * c1, 15) * c2;
        h ^= (uint)data.Length;
        h ^= h >> 16;
        h *= 0x85EBCA6B;
        h ^= h >> 13;
        h *= 0xC2B2AE35;
        return h ^ (h >> 16);
    }

    /// <summary>The bucket of a string: <c>String(s) mod buckets</c>.</summary>
    public static long StringBucket(string s, long buckets)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(buckets);
        return String(s) % buckets;
    }

    /// <summary>
    /// TFT's vocabulary order: count descending, then the token's UTF-8 bytes in reverse lexicographic order
    /// (int64 tokens compare as their decimal text, as TFT turns them into strings).
    /// </summary>
    internal static int CompareVocabulary(long countA, byte[] a, long countB, byte[] b)
    {
        if (countA != countB) return countB.CompareTo(countA);
        return b.AsSpan().SequenceCompareTo(a);
    }

    internal static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    internal static byte[] Utf8(long v) => Encoding.UTF8.GetBytes(v.ToString(CultureInfo.InvariantCulture));
}

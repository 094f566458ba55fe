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
/// <item><b>String</b>: FNV-1a 64 over the UTF-8 bytes, taken as unsigned. Standard ONNX has no operator that hashes a
/// string (no string-to-bytes or string-to-number op at any opset), so graphs cannot compute it: string hashes are
/// computed at fit time for every string seen in the train split and shipped as a LabelEncoder table; strings
/// never seen at fit time get a fixed fallback bucket (see the README's deviations).</item>
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

    /// <summary>FNV-1a 64 of the UTF-8 bytes.</summary>
    public static ulong String(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        const ulong offsetBasis = 14695981039346656037UL;
        const ulong prime = 1099511628211UL;
        var h = offsetBasis;
        Span<byte> buffer = s.Length <= 256 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(s.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(s.Length)];
        var n = Encoding.UTF8.GetBytes(s, buffer);
        foreach (var b in buffer[..n])
        {
            h ^= b;
            h *= prime;
        }
        return h;
    }

    /// <summary>The bucket of a string: <c>String(s) mod buckets</c>.</summary>
    public static long StringBucket(string s, long buckets)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(buckets);
        return (long)(String(s) % (ulong)buckets);
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

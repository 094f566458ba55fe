using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Serverless.Ml.Data.Csv;

/// <summary>
/// Allocation-free number parsing over UTF-8 bytes. The float fast path is Clinger's: a mantissa of at most
/// 15 significant digits (exact in a double) times an exact power of ten up to 1e22 is correctly rounded by one
/// IEEE multiplication or division; anything else falls back to the BCL parser, so results equal double.Parse.
/// </summary>
internal static class Utf8Number
{
    private static readonly double[] Pow10 =
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    public static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        var a = 0;
        var b = s.Length;
        while (a < b && (s[a] == (byte)' ' || s[a] == (byte)'\t')) a++;
        while (b > a && (s[b - 1] == (byte)' ' || s[b - 1] == (byte)'\t')) b--;
        return s[a..b];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryParseInt64(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        if (s.Length == 0) return false;
        var i = 0;
        var neg = false;
        if (s[0] == (byte)'-' || s[0] == (byte)'+') { neg = s[0] == (byte)'-'; i = 1; }
        if (i == s.Length || s.Length - i > 19) return s.Length - i > 19 && SlowInt(s, out value);
        ulong acc = 0;
        for (; i < s.Length; i++)
        {
            var d = (uint)(s[i] - (byte)'0');
            if (d > 9) return false;
            acc = (acc * 10) + d;
        }
        if (neg)
        {
            if (acc > 9223372036854775808UL) return false;
            value = (long)(0 - acc);
        }
        else
        {
            if (acc > long.MaxValue) return false;
            value = (long)acc;
        }
        return true;
    }

    private static bool SlowInt(ReadOnlySpan<byte> s, out long value) =>
        long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryParseDouble(ReadOnlySpan<byte> s, out double value)
    {
        value = 0;
        if (s.Length == 0) return false;
        var i = 0;
        var neg = false;
        if (s[0] == (byte)'-' || s[0] == (byte)'+') { neg = s[0] == (byte)'-'; i = 1; }
        ulong mant = 0;
        var digits = 0;
        var exp10 = 0;
        var any = false;
        for (; i < s.Length; i++)
        {
            var d = (uint)(s[i] - (byte)'0');
            if (d > 9) break;
            any = true;
            if (mant == 0 && d == 0) continue;
            if (digits < 19) { mant = (mant * 10) + d; digits++; }
            else exp10++;
        }
        if (i < s.Length && s[i] == (byte)'.')
        {
            i++;
            for (; i < s.Length; i++)
            {
                var d = (uint)(s[i] - (byte)'0');
                if (d > 9) break;
                any = true;
                if (mant == 0 && d == 0) { exp10--; continue; }
                if (digits < 19) { mant = (mant * 10) + d; digits++; exp10--; }
            }
        }
        if (!any) return Special(s, out value);
        if (i < s.Length && (s[i] == (byte)'e' || s[i] == (byte)'E'))
        {
            i++;
            var eneg = false;
            if (i < s.Length && (s[i] == (byte)'-' || s[i] == (byte)'+')) { eneg = s[i] == (byte)'-'; i++; }
            if (i == s.Length) return false;
            var e = 0;
            for (; i < s.Length; i++)
            {
                var d = (uint)(s[i] - (byte)'0');
                if (d > 9) return false;
                if (e < 100000) e = (e * 10) + (int)d;
            }
            exp10 += eneg ? -e : e;
        }
        if (i != s.Length) return false;
        if (mant == 0) { value = neg ? -0.0 : 0.0; return true; }
        if (digits <= 15 && exp10 >= -22 && exp10 <= 22)
        {
            double m = mant;
            value = exp10 >= 0 ? m * Pow10[exp10] : m / Pow10[-exp10];
            if (neg) value = -value;
            return true;
        }
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    private static bool Special(ReadOnlySpan<byte> s, out double value)
    {
        var t = s;
        var neg = false;
        if (t.Length > 0 && (t[0] == (byte)'-' || t[0] == (byte)'+')) { neg = t[0] == (byte)'-'; t = t[1..]; }
        if (Ascii.EqualsIgnoreCase(t, "nan"u8)) { value = double.NaN; return true; }
        if (Ascii.EqualsIgnoreCase(t, "inf"u8) || Ascii.EqualsIgnoreCase(t, "infinity"u8))
        {
            value = neg ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }
        value = 0;
        return false;
    }

    /// <summary>
    /// A field of digits with an optional '-' (at most 18, so no overflow) from <paramref name="p"/> to the next
    /// delimiter or the end, as a double, with <paramref name="p"/> moved to that end; false (p unchanged) for anything else.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool FastInt(ReadOnlySpan<byte> rec, ref int p, byte delim, out double value)
    {
        value = 0;
        var i = p;
        var neg = rec[i] == (byte)'-';
        if (neg) i++;
        var start = i;
        long acc = 0;
        while (i < rec.Length)
        {
            var d = (uint)(rec[i] - (byte)'0');
            if (d > 9) break;
            acc = (acc * 10) + d;
            i++;
        }
        var n = i - start;
        if (n == 0 || n > 18 || (i < rec.Length && rec[i] != delim)) return false;
        value = neg ? -acc : acc;
        p = i;
        return true;
    }

    /// <summary>
    /// Plain decimals (sign, digits, optional fraction, at most 15 digits): Clinger's exact case, so the result
    /// equals <see cref="Utf8Number.TryParseDouble"/> and double.Parse. Anything else returns false.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool FastDouble(ReadOnlySpan<byte> rec, ref int p, byte delim, out double value)
    {
        value = 0;
        var i = p;
        var neg = rec[i] == (byte)'-';
        if (neg) i++;
        long mant = 0;
        var digits = 0;
        while (i < rec.Length)
        {
            var d = (uint)(rec[i] - (byte)'0');
            if (d > 9) break;
            mant = (mant * 10) + d;
            digits++;
            i++;
        }
        var frac = 0;
        if (i < rec.Length && rec[i] == (byte)'.')
        {
            i++;
            while (i < rec.Length)
            {
                var d = (uint)(rec[i] - (byte)'0');
                if (d > 9) break;
                mant = (mant * 10) + d;
                frac++;
                i++;
            }
        }
        if (digits + frac == 0 || digits + frac > 15 || (i < rec.Length && rec[i] != delim)) return false;
        double m = mant;
        value = frac == 0 ? m : m / Pow10[frac];
        if (neg) value = -value;
        p = i;
        return true;
    }
}

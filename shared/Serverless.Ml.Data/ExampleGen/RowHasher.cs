using System.Runtime.InteropServices;
using System.Text;

namespace Serverless.Ml.Data.ExampleGen;

/// <summary>
/// A stable 64-bit row hash for deterministic splitting: the same value gives the same hash on every machine and
/// run (no randomized string hashing). Per value: int64 by its two's complement bits, float64 by its bits with -0
/// folded onto 0 and all NaNs onto one, text and bytes by FNV-1a over UTF-8 / raw bytes, tensors by FNV-1a over
/// their float bytes, missing by a constant; values are combined in schema order with a multiply-xorshift mix.
/// It is not TFX's farmhash, so our splits differ from TFX's for the same data.
/// </summary>
public static class RowHasher
{
    private const ulong MissingHash = 0x5BD1E9955BD1E995UL;

    /// <summary>Hashes every row of a batch over the given columns (all columns when null).</summary>
    public static ulong[] HashRows(RecordBatch batch, IReadOnlyList<int>? columns = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var idx = columns ?? Enumerable.Range(0, batch.Columns.Count).ToArray();
        var h = new ulong[batch.RowCount];
        Array.Fill(h, 0x9E3779B97F4A7C15UL);
        foreach (var c in idx)
        {
            var col = batch.Columns[c];
            ulong[]? dict = null;
            if (col is StringColumn s) dict = s.Dictionary.Select(v => Fnv(Encoding.UTF8.GetBytes(v))).ToArray();
            for (var i = 0; i < h.Length; i++)
            {
                ulong v;
                if (col.Missing[i]) v = MissingHash;
                else
                {
                    v = col switch
                    {
                        Int64Column l => (ulong)l.Values[i],
                        Float64Column d => FloatBits(d.Values[i]),
                        StringColumn sc => dict![sc.Codes[i]],
                        BytesColumn b => Fnv(b.Values[i]),
                        Float32TensorColumn t => Fnv(MemoryMarshal.AsBytes(t.GetRow(i))),
                        _ => 0,
                    };
                }
                h[i] = Mix(h[i] ^ v);
            }
        }
        return h;
    }

    private static ulong FloatBits(double d) =>
        d == 0 ? 0 : double.IsNaN(d) ? 0x7FF8000000000000UL : (ulong)BitConverter.DoubleToInt64Bits(d);

    internal static ulong Mix(ulong x)
    {
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return x;
    }

    internal static ulong Fnv(ReadOnlySpan<byte> data)
    {
        var h = 0xCBF29CE484222325UL;
        foreach (var b in data)
        {
            h ^= b;
            h *= 0x100000001B3UL;
        }
        return h;
    }
}
